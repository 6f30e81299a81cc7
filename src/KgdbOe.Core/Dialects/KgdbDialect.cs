using KgdbOe.Client;

namespace KgdbOe.Dialects
{
    /// <summary>
    /// The Linux kernel's own stub (kernel/debug/gdbstub.c) on x86-64: 1024-byte buffer, 'm' up to 511
    /// bytes, no qSupported features, '?' clears breakpoints (so only at attach), int3 leaves pc one past
    /// the breakpoint, CPUs appear as shadow threads before the tasks, errors are decimal errno.
    /// </summary>
    internal sealed class KgdbDialect : ITargetDialect
    {
        public TargetKind Kind => TargetKind.Kgdb;
        public int MaxReadChunk => 511;
        public int MaxWriteChunk => 480;
        public int HardwareSlots => 4;
        public RegisterLayout Registers => RegisterLayout.KgdbX86_64;
        public bool PcAfterSoftwareBreakpoint => true;
        public bool ResumesOverHardwareBreakpoint => true;
        public bool ReportsWatchAddress => false;

        public TargetThread ParseThread(string id, string? name)
        {
            int? cpu = ThreadIds.KgdbCpu(id);
            return cpu != null ? new TargetThread(id, name, true, cpu, null) : new TargetThread(id, name, false, null, ThreadIds.Pid(id));
        }

        // Z3 (read-only watch) is refused by the x86 stub with E01.
        public bool SupportsKind(BreakpointKind kind) => kind != BreakpointKind.ReadWatch;
    }
}
