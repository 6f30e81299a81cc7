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
            Location = breakpoint.IsPending ? $"{breakpoint.Symbol} [{breakpoint.Module}]" : target.Describe(breakpoint.Address);
        }

        public KernelTargetSession Target { get; }
        public int Id => Breakpoint.Id;
        public BreakpointKind Kind => Breakpoint.Kind;
        public ulong Address => Breakpoint.Address;
        public string? Location { get; }
        public int Length => Breakpoint.Length;
        public long HitCount => Breakpoint.HitCount;

        /// <summary>True while its module is not loaded (Address 0): it is planted when the module loads.</summary>
        public bool IsPending => Breakpoint.IsPending;

        /// <summary>The module it was set in by name (Set-KernelBreakpoint -Module); null otherwise.</summary>
        public string? Module => Breakpoint.Module;

        /// <summary>Planted, Pending, or Failed (its module loaded without the symbol; see PlantError).</summary>
        public string State => Breakpoint.PlantError != null ? "Failed" : Breakpoint.IsPending ? "Pending" : "Planted";

        /// <summary>Why planting failed when its module loaded; null otherwise.</summary>
        public string? PlantError => Breakpoint.PlantError;

        /// <summary>True for data watchpoints, whose Length says how many bytes they watch.</summary>
        public bool IsWatchpoint => Kind == BreakpointKind.WriteWatch || Kind == BreakpointKind.ReadWatch || Kind == BreakpointKind.AccessWatch;

        /// <summary>The protocol client's breakpoint.</summary>
        public Breakpoint Breakpoint { get; }

        /// <summary>"#1 Software at __x64_sys_getppid (0xffffffffb94638f0)"; watchpoints add their length.</summary>
        public override string ToString()
        {
            if (IsPending) return $"#{Id} {Kind} pending at {Location}";
            string address = "0x" + Address.ToString("x16", CultureInfo.InvariantCulture);
            return $"#{Id} {Kind} at {(Location == null ? address : Location + " (" + address + ")")}" +
                (IsWatchpoint ? " " + Length.ToString(CultureInfo.InvariantCulture) + " bytes" : "");
        }
    }
}
