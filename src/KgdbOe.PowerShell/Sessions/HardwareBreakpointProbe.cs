using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell
{
    /// <summary>Whether a kernel reports the hits of KGDB's hardware breakpoints and watchpoints.</summary>
    public enum HardwareBreakpointSupport
    {
        /// <summary>Not checked yet (the first hardware breakpoint of a session checks).</summary>
        Unknown,
        /// <summary>A write watchpoint on jiffies stopped the kernel: hits are reported.</summary>
        Reported,
        /// <summary>The kernel accepted the watchpoint and kept running: its hits are swallowed.</summary>
        NotReported,
    }

    /// <summary>
    /// Finds out whether KGDB's hardware breakpoints fire on this kernel, by trying one.
    /// <para>
    /// Stock x86 kernels (Debian 6.1.192 and 6.12.117, and upstream since perf_swevent_event() began to
    /// ignore events that are not ACTIVE: "perf: Fix __perf_event_overflow() vs perf_remove_from_context()
    /// race") accept Z1/Z2/Z4 and answer OK, but kgdb installs its perf breakpoint events itself and leaves
    /// them OFF, so every hit is counted and dropped in kernel/events/core.c before kgdb's overflow handler
    /// runs (tests/lab/patches/kgdb-hw-breakpoints.patch says why and fixes it for the lab). The state lives
    /// in arch/x86/kernel/kgdb.c's static breakinfo[]; neither the module nor the protocol can reach it
    /// through anything the kernel exports, and nothing in the stub's replies tells a patched kernel from
    /// an unpatched one. So the first hardware breakpoint of a session asks the kernel itself: a write
    /// watchpoint on jiffies (written by the timer tick, and on every interrupt that ends an idle tickless
    /// stretch), a resume, and a wait. A stop outside kgdb_breakpoint() is the watchpoint; none within the
    /// wait, or only the break-in we then send (whose interrupt writes jiffies too: the watchpoint would
    /// stop the kernel there first), means the kernel swallows hits.
    /// </para>
    /// The check lets the kernel run for up to <see cref="Wait"/> and leaves it stopped at the watchpoint
    /// (its write to jiffies) or at the break-in; the watchpoint is removed either way.
    /// </summary>
    internal static class HardwareBreakpointProbe
    {
        /// <summary>How long the kernel runs with the watchpoint on before the probe breaks in.</summary>
        internal static readonly TimeSpan Wait = TimeSpan.FromSeconds(3);

        /// <summary>
        /// Runs the check on a stopped KGDB target with symbols. Returns Reported or NotReported; throws
        /// <see cref="InvalidOperationException"/> when a breakpoint of the user's stopped the kernel first
        /// (the answer is then unknown and the kernel stays stopped there).
        /// </summary>
        internal static async Task<HardwareBreakpointSupport> RunAsync(KernelDebugClient client, SymbolTable symbols, CancellationToken ct)
        {
            ulong jiffies = symbols.GetAddress("jiffies");
            Breakpoint probe = await client.SetBreakpointAsync(BreakpointKind.WriteWatch, jiffies, 8, ct).ConfigureAwait(false);
            StopEvent stop;
            bool broke = false;
            try
            {
                await client.ResumeAsync(ct).ConfigureAwait(false);
                try
                {
                    stop = await client.WaitForStopAsync(Wait, ct).ConfigureAwait(false);
                }
                catch (TargetTimeoutException)
                {
                    broke = true;
                    stop = await client.InterruptAsync(ct).ConfigureAwait(false);
                }
            }
            finally
            {
                if (client.State == TargetState.Stopped)
                    await client.RemoveBreakpointAsync(probe, CancellationToken.None).ConfigureAwait(false);
            }
            if (stop.Breakpoint != null && !ReferenceEquals(stop.Breakpoint, probe))
                throw new InvalidOperationException(
                    $"Breakpoint #{stop.Breakpoint.Id} stopped the kernel before the check of its hardware breakpoints could end; try again.");
            SymbolLocation? at = symbols.Lookup(stop.ProgramCounter);
            bool inBreakIn = at != null && at.Name == "kgdb_breakpoint";
            if (!inBreakIn) return HardwareBreakpointSupport.Reported;
            if (broke) return HardwareBreakpointSupport.NotReported;
            throw new InvalidOperationException(
                "A break-in from elsewhere stopped the kernel before the check of its hardware breakpoints could end; try again.");
        }
    }
}
