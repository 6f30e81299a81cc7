using System.Globalization;
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

        /// <summary>True for data watchpoints, whose Length says how many bytes they watch.</summary>
        public bool IsWatchpoint => Kind == BreakpointKind.WriteWatch || Kind == BreakpointKind.ReadWatch || Kind == BreakpointKind.AccessWatch;

        /// <summary>The protocol client's breakpoint.</summary>
        public Breakpoint Breakpoint { get; }

        /// <summary>"#1 Software at __x64_sys_getppid (0xffffffffb94638f0)"; watchpoints add their length.</summary>
        public override string ToString()
        {
            string address = "0x" + Address.ToString("x16", CultureInfo.InvariantCulture);
            return $"#{Id} {Kind} at {(Location == null ? address : Location + " (" + address + ")")}" +
                (IsWatchpoint ? " " + Length.ToString(CultureInfo.InvariantCulture) + " bytes" : "");
        }
    }
}
