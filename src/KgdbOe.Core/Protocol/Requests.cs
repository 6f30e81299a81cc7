using System;

namespace KgdbOe.Protocol
{
    /// <summary>
    /// The payloads the client sends, built in one place (the GDB remote protocol's packet forms, gdb's
    /// "Packets" appendix; kernel/debug/gdbstub.c for what KGDB accepts). Framing ($...#cs) is the
    /// encoder's; what comes back is recognised by <see cref="Replies"/> and <see cref="ReplyShape"/>.
    /// </summary>
    internal static class Requests
    {
        /// <summary>What we announce at attach.</summary>
        public const string Supported = "qSupported:multiprocess-;swbreak+;hwbreak+;vContSupported+";

        /// <summary>Why the target stopped ('?'; clears every breakpoint on KGDB and QEMU).</summary>
        public const string StopStatus = "?";

        /// <summary>The current thread (qC).</summary>
        public const string CurrentThread = "qC";

        /// <summary>Detach (D): KGDB removes all breakpoints and resumes.</summary>
        public const string Detach = "D";

        /// <summary>Continue.</summary>
        public const string Continue = "c";

        /// <summary>One instruction.</summary>
        public const string Step = "s";

        /// <summary>First and next page of the thread list.</summary>
        public const string FirstThreads = "qfThreadInfo";
        public const string NextThreads = "qsThreadInfo";

        /// <summary>All registers in 'g' order.</summary>
        public const string ReadRegisters = "g";

        /// <summary>m ADDR,LEN: read <paramref name="length"/> bytes.</summary>
        public static string ReadMemory(ulong address, int length) => "m" + Hex.Number(address) + "," + Hex.Number((ulong)length);

        /// <summary>M ADDR,LEN:HEX: write <paramref name="count"/> bytes of <paramref name="data"/> from <paramref name="offset"/>.</summary>
        public static string WriteMemory(ulong address, byte[] data, int offset, int count) =>
            "M" + Hex.Number(address) + "," + Hex.Number((ulong)count) + ":" + Hex.Encode(new ReadOnlySpan<byte>(data, offset, count));

        /// <summary>p N: one register by its number in 'g' order.</summary>
        public static string ReadRegister(int number) => "p" + Hex.Number((ulong)number);

        /// <summary>P N=VALUE: one register, <paramref name="value"/> in target (little-endian) byte order.</summary>
        public static string WriteRegister(int number, byte[] value) => "P" + Hex.Number((ulong)number) + "=" + Hex.Encode(value);

        /// <summary>Z/z KIND,ADDR,LEN: plant (<paramref name="plant"/> true) or lift a breakpoint or watchpoint; kind is Z0..Z4's digit.</summary>
        public static string Breakpoint(bool plant, int kind, ulong address, int length) =>
            (plant ? "Z" : "z") + kind + "," + Hex.Number(address) + "," + Hex.Number((ulong)length);

        /// <summary>Hg ID: the thread later g/p/P/m requests act on.</summary>
        public static string SelectThread(string threadId) => "Hg" + threadId;

        /// <summary>qThreadExtraInfo,ID: a thread's name.</summary>
        public static string ThreadExtraInfo(string threadId) => "qThreadExtraInfo," + threadId;

        /// <summary>qRcmd,HEX: a monitor command.</summary>
        public static string MonitorCommand(string command) => "qRcmd," + Hex.Encode(command);

        /// <summary>qXfer:features:read:NAME:OFFSET,LENGTH.</summary>
        public static string ReadFeatures(string name, int offset, int length) =>
            $"qXfer:features:read:{name}:{Hex.Number((ulong)offset)},{Hex.Number((ulong)length)}";
    }
}
