using KgdbOe.Client;

namespace KgdbOe.Dialects
{
    /// <summary>What differs between GDB stubs; the session and client ask, never branch on the kind.</summary>
    internal interface ITargetDialect
    {
        TargetKind Kind { get; }

        /// <summary>Largest 'm' request in bytes.</summary>
        int MaxReadChunk { get; }

        /// <summary>Largest 'M' request in bytes.</summary>
        int MaxWriteChunk { get; }

        /// <summary>Debug-register slots for hardware breakpoints and watchpoints (0 = unlimited).</summary>
        int HardwareSlots { get; }

        RegisterLayout Registers { get; }

        /// <summary>True when a software breakpoint stop leaves pc after the int3 (pc = address + 1).</summary>
        bool PcAfterSoftwareBreakpoint { get; }

        /// <summary>True when the stub lets a hardware execute breakpoint be resumed without stepping over it.</summary>
        bool ResumesOverHardwareBreakpoint { get; }

        /// <summary>True when watchpoint stops name the address (QEMU "watch:addr;"); KGDB says nothing.</summary>
        bool ReportsWatchAddress { get; }

        /// <summary>Parses a thread id from a thread list into a thread (without its name).</summary>
        TargetThread ParseThread(string id, string? name);

        /// <summary>The signal number a stub uses for a read-only watchpoint it refuses (for the error text).</summary>
        bool SupportsKind(BreakpointKind kind);
    }
}
