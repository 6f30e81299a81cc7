using KgdbOe.Client;

namespace KgdbOe.Dialects
{
    /// <summary>
    /// QEMU's gdbstub: threads are vCPUs 1..N, breakpoints live in the emulator (pc stays at the address),
    /// watchpoint stops name the address, no 'X'. 'k' would end QEMU, so it is never sent.
    /// </summary>
    internal sealed class QemuDialect : ITargetDialect
    {
        public QemuDialect(int packetSize)
        {
            // A hex reply needs two characters per byte plus framing.
            MaxReadChunk = System.Math.Max(64, System.Math.Min(4096, (packetSize - 32) / 2));
            MaxWriteChunk = System.Math.Max(64, System.Math.Min(2048, (packetSize - 64) / 2));
        }

        public TargetKind Kind => TargetKind.QemuGdbStub;
        public int MaxReadChunk { get; }
        public int MaxWriteChunk { get; }
        public int HardwareSlots => 4;
        public RegisterLayout Registers => RegisterLayout.GdbX86_64;
        public bool PcAfterSoftwareBreakpoint => false;
        public bool ResumesOverHardwareBreakpoint => false;
        public bool ReportsWatchAddress => true;

        public TargetThread ParseThread(string id, string? name)
        {
            int? n = ThreadIds.Pid(id);
            return new TargetThread(id, name, true, n == null ? (int?)null : n.Value - 1, null);
        }

        public bool SupportsKind(BreakpointKind kind) => true;
    }
}
