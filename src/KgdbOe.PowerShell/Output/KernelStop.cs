using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>Why and where the kernel stopped, with the program counter named by symbol.</summary>
    public sealed class KernelStop
    {
        internal KernelStop(KernelTargetSession target, StopEvent stop)
        {
            Target = target;
            Event = stop;
            Location = target.Describe(stop.ProgramCounter);
            Breakpoint = stop.Breakpoint is Client.Breakpoint bp ? new KernelBreakpoint(target, bp) : null;
        }

        public KernelTargetSession Target { get; }
        public StopReason Reason => Event.Reason;
        public int Signal => Event.Signal;
        public int? Cpu => Event.Cpu;
        public string? ThreadId => Event.ThreadId;
        public ulong ProgramCounter => Event.ProgramCounter;

        /// <summary>The program counter as symbol+offset, when the session has symbols.</summary>
        public string? Location { get; }
        public KernelBreakpoint? Breakpoint { get; }

        /// <summary>The protocol client's own record of the stop.</summary>
        public StopEvent Event { get; }

        public override string ToString() => $"{Reason} at {Location ?? "0x" + ProgramCounter.ToString("x16")}";
    }
}
