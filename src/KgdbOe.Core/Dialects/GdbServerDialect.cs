using KgdbOe.Client;

namespace KgdbOe.Dialects
{
    /// <summary>gdbserver (a user process): threads are tasks, breakpoints behave as on QEMU.</summary>
    internal sealed class GdbServerDialect : ITargetDialect
    {
        public GdbServerDialect(int packetSize)
        {
            MaxReadChunk = System.Math.Max(64, System.Math.Min(8192, (packetSize - 32) / 2));
            MaxWriteChunk = System.Math.Max(64, System.Math.Min(4096, (packetSize - 64) / 2));
        }

        public TargetKind Kind => TargetKind.GdbServer;
        public int MaxReadChunk { get; }
        public int MaxWriteChunk { get; }
        public int HardwareSlots => 4;
        public RegisterLayout Registers => RegisterLayout.GdbX86_64;
        public bool PcAfterSoftwareBreakpoint => false;
        public bool ResumesOverHardwareBreakpoint => false;
        public bool ReportsWatchAddress => true;

        public TargetThread ParseThread(string id, string? name) => new TargetThread(id, name, false, null, ThreadIds.Pid(id));

        public bool SupportsKind(BreakpointKind kind) => true;
    }
}
