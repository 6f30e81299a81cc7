using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using KgdbOe.Tools.LossyUdpProxy;
using System.Net;
using Xunit;
using Xunit.Abstractions;

namespace KgdbOe.Tests.Lab
{
    /// <summary>The client against the real kgdboe module over UDP, directly and through the fault proxy.</summary>
    [Collection(LabCollection.Name)]
    public class KgdboeTests
    {
        private const int OneMiB = 1 << 20;
        private readonly ITestOutputHelper _out;
        public KgdboeTests(ITestOutputHelper output) { _out = output; }

        private static async Task<(LabState, KernelDebugClient)> AttachAsync(CancellationToken ct, int? viaPort = null, ConnectOptions? options = null)
        {
            LabState lab = LabState.Load();
            Assert.True(lab.DebugPort != null, "the lab state has no DebugPort");
            await KgdboeModule.EnsureLoadedAsync(lab);
            options ??= new ConnectOptions();
            // kgdboe serves one peer (IP and port) until it detaches: a fixed local port lets the next run
            // take over a session a crashed run left attached.
            if (viaPort == null) options.LocalPort = lab.FixedClientPort;
            KernelDebugClient client = await KernelDebugClient.ConnectAsync(TargetEndpoint.Parse($"udp:127.0.0.1:{viaPort ?? lab.DebugPort}"), options, ct);
            Assert.Equal(TargetKind.Kgdb, client.Kind);
            return (lab, client);
        }

        [LabFact]
        public async Task Attach_read_the_banner_break_on_getppid_step_resume_and_detach()
        {
            LabState lab = LabState.Load();
            string procVersion = (await lab.SshAsync("cat /proc/version")).TrimEnd('\n');
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var (_, client) = await AttachAsync(cts.Token);
            using (client)
            {
                (SymbolTable symbols, KaslrSlide slide) = await DebugSteps.SlideAsync(client, lab, cts.Token);
                _out.WriteLine("slide: " + slide);
                Assert.Equal(procVersion, (await DebugSteps.ReadBannerAsync(client, symbols, cts.Token)).TrimEnd('\n'));

                var (bp, stop, workload) = await DebugSteps.BreakOnGetppidAsync(client, lab, symbols, BreakpointKind.Software, "1", cts.Token);
                RegisterSet regs = await client.ReadRegistersAsync(null, cts.Token);
                Assert.Equal(stop.ProgramCounter, regs.ProgramCounter);
                Assert.Equal(156, regs.Sum(r => r.Size));

                StopEvent stepped = await client.StepAsync(cts.Token);
                Assert.Equal(StopReason.Step, stepped.Reason);
                Assert.NotEqual(stop.ProgramCounter, stepped.ProgramCounter);
                Assert.Equal("__x64_sys_getppid", symbols.Lookup(stepped.ProgramCounter)!.Name);

                var threads = await client.GetThreadsAsync(cts.Token);
                Assert.Contains(threads, t => t.IsCpu && t.Cpu == 0);
                _out.WriteLine("threads: " + string.Join(", ", threads));
                Assert.Contains(threads, t => t.Id == stop.ThreadId && t.Name == "workload");

                await client.RemoveBreakpointAsync(bp, cts.Token);
                await client.ResumeAsync(cts.Token);
                var (code, output, error) = await workload;
                Assert.True(code == 0, error);
                Assert.Equal("1", output.Trim());
                await client.InterruptAsync(cts.Token);
                await client.DetachAsync(cts.Token);
            }
            Assert.Equal("alive", (await lab.SshAsync("echo alive")).Trim());
        }

        // Needs the lab kernel's tests/lab/patches/kgdb-hw-breakpoints.patch: stock 6.1/6.12 swallow every hit.
        [LabFact]
        public async Task A_write_watchpoint_on_jiffies_stops_the_kernel()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var (lab, client) = await AttachAsync(cts.Token);
            using (client)
            {
                (SymbolTable symbols, _) = await DebugSteps.SlideAsync(client, lab, cts.Token);
                Assert.True(symbols.TryGetAddress("jiffies", out ulong jiffies));
                byte[] before = await client.ReadMemoryAsync(jiffies, 8, null, cts.Token);
                Breakpoint watch = await client.SetBreakpointAsync(BreakpointKind.WriteWatch, jiffies, 8, cts.Token);
                await client.ResumeAsync(cts.Token);
                StopEvent stop = await client.WaitForStopAsync(TimeSpan.FromSeconds(30), cts.Token);
                Assert.Equal(StopReason.Watchpoint, stop.Reason);
                Assert.Same(watch, stop.Breakpoint);
                byte[] after = await client.ReadMemoryAsync(jiffies, 8, null, cts.Token);
                Assert.NotEqual(before, after);
                _out.WriteLine($"jiffies written at {symbols.Lookup(stop.ProgramCounter)}");
                await client.RemoveBreakpointAsync(watch, cts.Token);
                await client.DetachAsync(cts.Token);
            }
            Assert.Equal("alive", (await lab.SshAsync("echo alive")).Trim());
        }

        [LabFact]
        public async Task A_one_MiB_read_equals_the_same_read_in_4_KiB_pieces_directly_and_through_the_lossy_proxy()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            byte[] whole, pieces;
            ulong start;
            LabState lab;
            var (lab0, client) = await AttachAsync(cts.Token);
            lab = lab0;
            using (client)
            {
                (SymbolTable symbols, _) = await DebugSteps.SlideAsync(client, lab, cts.Token);
                Assert.True(symbols.TryGetAddress("_stext", out start));
                var watch = Stopwatch.StartNew();
                whole = await client.ReadMemoryAsync(start, OneMiB, null, cts.Token);
                double direct = OneMiB / 1024.0 / watch.Elapsed.TotalSeconds;
                pieces = new byte[OneMiB];
                for (int at = 0; at < OneMiB; at += 4096)
                    Buffer.BlockCopy(await client.ReadMemoryAsync(start + (ulong)at, 4096, null, cts.Token), 0, pieces, at, 4096);
                Assert.Equal(whole, pieces);
                string line = $"kgdboe direct: 1 MiB in {watch.Elapsed.TotalSeconds:0.00} s total incl. 4 KiB pass; whole read {direct:0} KiB/s; {client.Statistics}";
                _out.WriteLine(line);
                DebugSteps.Record(line);
                await client.DetachAsync(cts.Token);
            }

            // The kernel text does not change: the same bytes must come back through 10 % loss, duplication and reordering.
            using var proxy = new UdpFaultProxy(new ProxyOptions
            {
                Target = new IPEndPoint(IPAddress.Loopback, lab.DebugPort!.Value),
                LossPercent = 10, DuplicatePercent = 5, ReorderPercent = 5, DelayMinMs = 0, DelayMaxMs = 5, Seed = 1,
            });
            var (_, lossy) = await AttachAsync(cts.Token, proxy.LocalEndPoint.Port);
            using (lossy)
            {
                var watch = Stopwatch.StartNew();
                byte[] throughProxy = await lossy.ReadMemoryAsync(start, OneMiB, null, cts.Token);
                double rate = OneMiB / 1024.0 / watch.Elapsed.TotalSeconds;
                Assert.Equal(whole, throughProxy);
                string line = $"kgdboe via proxy (10% loss, 5% dup, 5% reorder, 0-5 ms): 1 MiB at {rate:0} KiB/s; {lossy.Statistics}; proxy {proxy.Statistics}";
                _out.WriteLine(line);
                DebugSteps.Record(line);
                await lossy.DetachAsync(cts.Token);
            }
            Assert.Equal("alive", (await lab.SshAsync("echo alive")).Trim());
        }

        [LabFact]
        public async Task Through_the_lossy_proxy_100_breakpoint_hits_lose_no_stop()
        {
            const int hits = 100;
            LabState lab = LabState.Load();
            using var proxy = new UdpFaultProxy(new ProxyOptions
            {
                Target = new IPEndPoint(IPAddress.Loopback, lab.DebugPort!.Value),
                LossPercent = 10, DuplicatePercent = 5, ReorderPercent = 5, DelayMinMs = 0, DelayMaxMs = 5, Seed = 2,
            });
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
            using var log = new System.IO.StreamWriter(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kgdboe-core-proxy-breakpoints.log")) { AutoFlush = true };
            var (_, client) = await AttachAsync(cts.Token, proxy.LocalEndPoint.Port, new ConnectOptions { TrafficLog = log });
            using (client)
            {
                (SymbolTable symbols, _) = await DebugSteps.SlideAsync(client, lab, cts.Token);
                var watch = Stopwatch.StartNew();
                // 20 ms between calls: longer than the proxy's delays, as a real workload's pace would be.
                var (bp, first, workload) = await DebugSteps.BreakOnGetppidAsync(client, lab, symbols, BreakpointKind.Software, $"{hits} 20000", cts.Token);
                int seen = 1;
                for (int i = 2; i <= hits; i++)
                {
                    await client.ResumeAsync(cts.Token);
                    log.WriteLine($"---- cycle {i}");
                    StopEvent stop = await DebugSteps.NextWorkloadStopAsync(client, first.ThreadId, cts.Token);
                    Assert.Equal(bp.Address, stop.ProgramCounter);
                    Assert.Equal(StopReason.Breakpoint, stop.Reason);
                    seen++;
                }
                Assert.Equal(hits, seen);
                await client.DetachAsync(cts.Token);
                var (code, output, error) = await workload;
                Assert.True(code == 0, error);
                Assert.Equal(hits.ToString(), output.Trim());
                string line = $"kgdboe via proxy: {hits} breakpoint cycles in {watch.Elapsed.TotalSeconds:0.0} s; {client.Statistics}; proxy {proxy.Statistics}";
                _out.WriteLine(line);
                DebugSteps.Record(line);
            }
            Assert.Equal("alive", (await lab.SshAsync("echo alive")).Trim());
        }
    }
}
