using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using Xunit;
using Xunit.Abstractions;

namespace KgdbOe.Tests.Lab
{
    /// <summary>The client against QEMU's own gdbstub (TCP) on the lab kernel.</summary>
    [Collection(LabCollection.Name)]
    public class QemuGdbStubTests
    {
        private readonly ITestOutputHelper _out;
        public QemuGdbStubTests(ITestOutputHelper output) { _out = output; }

        [LabFact]
        public async Task Attach_read_the_banner_break_on_getppid_step_resume_and_detach()
        {
            LabState lab = LabState.Load();
            Assert.True(lab.GdbPort != null, "the lab needs QEMU's gdbstub (Start-KgdbOeLab -GdbStub)");
            string procVersion = (await lab.SshAsync("cat /proc/version")).TrimEnd('\n');
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));

            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(TargetEndpoint.Parse($"tcp:127.0.0.1:{lab.GdbPort}"), new ConnectOptions(), cts.Token);
            Assert.Equal(TargetKind.QemuGdbStub, client.Kind);
            Assert.Equal(TargetState.Stopped, client.State);

            (SymbolTable symbols, KaslrSlide slide) = await DebugSteps.SlideAsync(client, lab, cts.Token);
            _out.WriteLine("slide: " + slide);
            Assert.Equal(procVersion, (await DebugSteps.ReadBannerAsync(client, symbols, cts.Token)).TrimEnd('\n'));

            var (bp, stop, workload) = await DebugSteps.BreakOnGetppidAsync(client, lab, symbols, BreakpointKind.Software, "1", cts.Token);
            Assert.Equal("__x64_sys_getppid", symbols.Lookup(stop.ProgramCounter)!.Name);
            RegisterSet regs = await client.ReadRegistersAsync(null, cts.Token);
            Assert.Equal(stop.ProgramCounter, regs.ProgramCounter);

            StopEvent stepped = await client.StepAsync(cts.Token);
            Assert.Equal(StopReason.Step, stepped.Reason);
            Assert.NotEqual(stop.ProgramCounter, stepped.ProgramCounter);
            _out.WriteLine($"stepped to {symbols.Lookup(stepped.ProgramCounter)}");

            await client.RemoveBreakpointAsync(bp, cts.Token);
            await client.ResumeAsync(cts.Token);
            var (code, output, error) = await workload;
            Assert.True(code == 0, error);
            Assert.Equal("1", output.Trim());

            await client.DetachAsync(cts.Token);
            Assert.Equal(TargetState.Detached, client.State);
            Assert.Equal("alive", (await lab.SshAsync("echo alive")).Trim());
        }
    }
}
