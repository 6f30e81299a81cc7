using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>Steps the lab tests share: find the slide, read the banner, break on getppid.</summary>
    internal static class DebugSteps
    {
        public static async Task<(SymbolTable Symbols, KaslrSlide Slide)> SlideAsync(KernelDebugClient client, LabState lab, CancellationToken ct)
        {
            SymbolTable linkTime = SymbolTable.FromSystemMap(lab.SystemMap);
            KaslrSlide slide = await KaslrSlide.DetectAsync(client, linkTime, ct);
            return (linkTime.WithSlide(slide.Slide), slide);
        }

        public static async Task<string> ReadBannerAsync(KernelDebugClient client, SymbolTable symbols, CancellationToken ct)
        {
            Assert.True(symbols.TryGetAddress("linux_banner", out ulong banner));
            byte[] bytes = await client.ReadMemoryAsync(banner, 512, null, ct);
            int end = Array.IndexOf(bytes, (byte)0);
            return Encoding.ASCII.GetString(bytes, 0, end < 0 ? bytes.Length : end);
        }

        /// <summary>Sets a breakpoint on the getppid handler, resumes, runs /bin/workload and returns the stop.</summary>
        public static async Task<(Breakpoint Bp, StopEvent Stop, Task<(int, string, string)> Workload)> BreakOnGetppidAsync(
            KernelDebugClient client, LabState lab, SymbolTable symbols, BreakpointKind kind, string workloadArgs, CancellationToken ct)
        {
            Assert.True(symbols.TryGetAddress("__x64_sys_getppid", out ulong handler));
            Breakpoint bp = await client.SetBreakpointAsync(kind, handler, 1, ct);
            await client.ResumeAsync(ct);
            Task<(int, string, string)> workload = lab.RunSshAsync("/bin/workload " + workloadArgs, TimeSpan.FromMinutes(5));
            StopEvent stop = await NextWorkloadStopAsync(client, null, ct);
            Assert.Equal(handler, stop.ProgramCounter);
            Assert.Equal(StopReason.Breakpoint, stop.Reason);
            Assert.Same(bp, stop.Breakpoint);
            return (bp, stop, workload);
        }

        /// <summary>
        /// The next stop in the workload process. busybox sh calls getppid() itself when it starts the
        /// command, so stops in other tasks are let go (and not counted).
        /// </summary>
        public static async Task<StopEvent> NextWorkloadStopAsync(KernelDebugClient client, string? workloadThread, CancellationToken ct)
        {
            while (true)
            {
                StopEvent stop = await client.WaitForStopAsync(TimeSpan.FromSeconds(90), ct);
                if (stop.ThreadId != null && (stop.ThreadId == workloadThread ||
                    (workloadThread == null && await client.GetThreadNameAsync(stop.ThreadId, ct) is string name && name.StartsWith("workload", StringComparison.Ordinal))))
                    return stop;
                if (client.Kind != TargetKind.Kgdb) return stop; // QEMU names vCPUs, not tasks
                await client.ResumeAsync(ct);
            }
        }

        public static void Record(string line)
        {
            File.AppendAllText(Path.Combine(Path.GetTempPath(), "kgdboe-core-measurements.txt"), DateTime.UtcNow.ToString("u") + " " + line + Environment.NewLine);
        }
    }
}
