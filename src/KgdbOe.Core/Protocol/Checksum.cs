using System;

namespace KgdbOe.Protocol
{
    /// <summary>The GDB packet checksum: the sum of the raw payload bytes modulo 256.</summary>
    internal static class Checksum
    {
        public static byte Compute(ReadOnlySpan<byte> raw)
        {
            byte sum = 0;
            foreach (byte b in raw) sum += b;
            return sum;
        }
    }
}
