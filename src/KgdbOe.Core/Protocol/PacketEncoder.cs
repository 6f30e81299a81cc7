using System;
using System.Collections.Generic;
using System.Text;

namespace KgdbOe.Protocol
{
    /// <summary>Frames a payload as $payload#cs, escaping the four bytes the protocol reserves ($ # } *).</summary>
    internal static class PacketEncoder
    {
        public static byte[] Encode(string payload) => Encode(Encoding.ASCII.GetBytes(payload));

        public static byte[] Encode(ReadOnlySpan<byte> payload)
        {
            var raw = new List<byte>(payload.Length + 8);
            foreach (byte b in payload)
            {
                if (NeedsEscape(b)) { raw.Add((byte)'}'); raw.Add((byte)(b ^ 0x20)); }
                else raw.Add(b);
            }
            byte[] body = raw.ToArray();
            byte sum = Checksum.Compute(body);
            var packet = new byte[body.Length + 4];
            packet[0] = (byte)'$';
            body.CopyTo(packet, 1);
            packet[body.Length + 1] = (byte)'#';
            packet[body.Length + 2] = (byte)HexDigit(sum >> 4);
            packet[body.Length + 3] = (byte)HexDigit(sum & 15);
            return packet;
        }

        /// <summary>The length a payload takes on the wire after escaping (for sizing X packets).</summary>
        public static int EscapedLength(ReadOnlySpan<byte> payload)
        {
            int n = 0;
            foreach (byte b in payload) n += NeedsEscape(b) ? 2 : 1;
            return n;
        }

        public static bool NeedsEscape(byte b) => b == (byte)'$' || b == (byte)'#' || b == (byte)'}' || b == (byte)'*';

        private static char HexDigit(int v) => (char)(v < 10 ? '0' + v : 'a' + v - 10);
    }
}
