using System;
using System.IO;

namespace KgdbOe.Client
{
    /// <summary>How to talk to one target. Each client takes its own copy of the values.</summary>
    public sealed class ConnectOptions
    {
        /// <summary>How long to wait for an ack or a reply before asking again (UDP retransmission).</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <summary>How many times one request is sent in a row, with no word from the target, before it counts as unreachable.</summary>
        public int MaxAttempts { get; set; } = 12;

        /// <summary>
        /// UDP only: how long one request is waited for while the stub keeps rejecting other bytes ('-'), as
        /// it does while it works through a backlog of malformed datagrams ahead of ours. Silence still ends a
        /// request after <see cref="MaxAttempts"/> copies.
        /// </summary>
        public TimeSpan BusyLimit { get; set; } = TimeSpan.FromMinutes(2);

        /// <summary>How long the first contact may take.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Stop the target on connect (0x03 / first packet), so ConnectAsync returns with LastStop set.</summary>
        public bool BreakIn { get; set; } = true;

        /// <summary>When set, every byte sent and received is logged here (like gdb's "set debug remote 1").</summary>
        public TextWriter? TrafficLog { get; set; }

        /// <summary>Force a dialect instead of detecting it.</summary>
        public TargetKind? Kind { get; set; }

        /// <summary>UDP only: the local port to bind (0 = any free port). One fixed port per session.</summary>
        public int LocalPort { get; set; }

        /// <summary>
        /// UDP only: how many memory-read requests may be in flight at once (1 = strictly one at a time).
        /// The KGDB stub still answers them one by one; the window hides the round trip between them.
        /// </summary>
        public int ReadWindow { get; set; } = 8;

        /// <summary>
        /// UDP only: the 256-bit (32-byte) pre-shared key of a kgdboe module loaded with key=. When set, the
        /// client speaks the keyed v2 wire (docs/wire-v2.md): an authenticated handshake, then a reliable
        /// encrypted stream and the fast memory path. A wrong key fails with <see cref="AuthenticationFailedException"/>.
        /// Null: raw GDB remote protocol over UDP. The client keeps its own copy.
        /// </summary>
        public byte[]? Key { get; set; }

        internal ConnectOptions Clone()
        {
            var copy = (ConnectOptions)MemberwiseClone();
            copy.Key = Key == null ? null : (byte[])Key.Clone();
            return copy;
        }
    }
}
