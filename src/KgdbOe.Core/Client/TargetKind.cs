namespace KgdbOe.Client
{
    /// <summary>Which GDB stub implementation answers.</summary>
    public enum TargetKind
    {
        Kgdb,
        QemuGdbStub,
        GdbServer,
        Unknown,
    }
}
