using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>A breakpoint or watchpoint planted in a target; pipe it to Remove-KernelBreakpoint.</summary>
    public sealed class KernelBreakpoint
    {
        internal KernelBreakpoint(KernelTargetSession target, Breakpoint breakpoint)
        {
            Target = target;
            Breakpoint = breakpoint;
            Location = target.Describe(breakpoint.Address);
        }

        public KernelTargetSession Target { get; }
        public int Id => Breakpoint.Id;
        public BreakpointKind Kind => Breakpoint.Kind;
        public ulong Address => Breakpoint.Address;
        public string? Location { get; }
        public int Length => Breakpoint.Length;
        public long HitCount => Breakpoint.HitCount;

        /// <summary>The protocol client's breakpoint.</summary>
        public Breakpoint Breakpoint { get; }

        public override string ToString() => $"#{Id} {Kind} {Location ?? "0x" + Address.ToString("x16")}";
    }
}
