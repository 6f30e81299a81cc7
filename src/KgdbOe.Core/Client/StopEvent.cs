using System.Globalization;

namespace KgdbOe.Client
{
    /// <summary>Why and where the target stopped.</summary>
    public sealed class StopEvent
    {
        public StopEvent(int signal, StopReason reason, string? threadId, int? cpu, ulong programCounter, Breakpoint? breakpoint)
        {
            Signal = signal;
            Reason = reason;
            ThreadId = threadId;
            Cpu = cpu;
            ProgramCounter = programCounter;
            Breakpoint = breakpoint;
        }

        public int Signal { get; }
        public StopReason Reason { get; }
        public string? ThreadId { get; }
        /// <summary>
        /// The CPU, when the thread id names one: a QEMU vCPU, or a KGDB shadow thread (an idle CPU).
        /// Null when KGDB names a task (thread:pid, kernel/debug/gdbstub.c); no packet maps a task to
        /// its CPU, so callers with symbols read kgdb_active instead (KernelTargetSession.CpuOf).
        /// </summary>
        public int? Cpu { get; }
        /// <summary>Where execution resumes; after a software breakpoint on KGDB this is the breakpoint address (rewound).</summary>
        public ulong ProgramCounter { get; }
        public Breakpoint? Breakpoint { get; }

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "{0} (signal {1}) at 0x{2:x}{3}{4}", Reason, Signal, ProgramCounter,
                ThreadId == null ? "" : " thread " + ThreadId, Cpu == null ? "" : " cpu " + Cpu.Value.ToString(CultureInfo.InvariantCulture));
    }
}
