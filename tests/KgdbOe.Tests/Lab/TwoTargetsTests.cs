using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>Two lab VMs debugged at once from one process: nothing one client does reaches the other.</summary>
    [Collection(LabCollection.Name)]
    public class TwoTargetsTests
    {
        [LabFact(LabState.PrimaryVariable, LabState.SecondVariable)]
        public async Task Two_kgdboe_targets_are_debugged_at_once_without_interference()
        {
            LabState first = LabState.Load(LabState.PrimaryVariable), second = LabState.Load(LabState.SecondVariable);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await Task.WhenAll(DebugOneAsync(first, cts.Token), DebugOneAsync(second, cts.Token));
        }

        private static async Task DebugOneAsync(LabState lab, CancellationToken ct)
        {
            await KgdboeModule.EnsureLoadedAsync(lab);
            string procVersion = (await lab.SshAsync("cat /proc/version")).TrimEnd('\n');
            string hostname = (await lab.SshAsync("cat /proc/sys/kernel/random/boot_id")).Trim();
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(TargetEndpoint.Parse($"udp:127.0.0.1:{lab.DebugPort}"), new ConnectOptions { LocalPort = lab.FixedClientPort }, ct);
            (SymbolTable symbols, _) = await DebugSteps.SlideAsync(client, lab, ct);
            Assert.Equal(procVersion, (await DebugSteps.ReadBannerAsync(client, symbols, ct)).TrimEnd('\n'));
            Assert.True(symbols.TryGetAddress("_stext", out ulong stext));
            byte[] a = await client.ReadMemoryAsync(stext, 256 * 1024, null, ct);
            var (bp, stop, workload) = await DebugSteps.BreakOnGetppidAsync(client, lab, symbols, BreakpointKind.Software, "3 10000", ct);
            for (int i = 2; i <= 3; i++)
            {
                await client.ResumeAsync(ct);
                Assert.Equal(bp.Address, (await DebugSteps.NextWorkloadStopAsync(client, stop.ThreadId, ct)).ProgramCounter);
            }
            byte[] b = await client.ReadMemoryAsync(stext, 256 * 1024, null, ct);
            Assert.Equal(a, b);
            await client.DetachAsync(ct);
            var (code, output, error) = await workload;
            Assert.True(code == 0, error);
            Assert.Equal("3", output.Trim());
            // Still the same VM: its boot id did not change under us.
            Assert.Equal(hostname, (await lab.SshAsync("cat /proc/sys/kernel/random/boot_id")).Trim());
        }
    }
}
