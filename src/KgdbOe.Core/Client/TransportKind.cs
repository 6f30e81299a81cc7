namespace KgdbOe.Client
{
    /// <summary>How the client reaches the target's GDB stub.</summary>
    public enum TransportKind
    {
        /// <summary>UDP datagrams (kgdboe).</summary>
        Udp,
        /// <summary>A TCP stream (QEMU's gdbstub, gdbserver).</summary>
        Tcp,
    }
}
