using System;
using System.Globalization;
using System.Text;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Bytes read from a target at an address. Shown as a hex dump; the bytes stay in
    /// <see cref="Bytes"/> for the pipeline, and the Read* methods decode little-endian values.
    /// </summary>
    public sealed class KernelMemoryBlock
    {
        internal KernelMemoryBlock(KernelTargetSession target, ulong address, byte[] bytes)
        {
            Target = target;
            Address = address;
            Bytes = bytes;
            Location = target.Describe(address);
        }

        public KernelTargetSession Target { get; }
        public ulong Address { get; }
        public string? Location { get; }
        public byte[] Bytes { get; }
        public int Length => Bytes.Length;

        public byte ReadByte(int offset) => Bytes[offset];
        public ushort ReadUInt16(int offset) => (ushort)ReadLittleEndian(offset, 2);
        public uint ReadUInt32(int offset) => (uint)ReadLittleEndian(offset, 4);
        public ulong ReadUInt64(int offset) => ReadLittleEndian(offset, 8);

        /// <summary>The NUL-terminated ASCII text at <paramref name="offset"/> (to the block's end if no NUL).</summary>
        public string ReadString(int offset = 0)
        {
            int end = Array.IndexOf(Bytes, (byte)0, offset);
            return Encoding.ASCII.GetString(Bytes, offset, (end < 0 ? Bytes.Length : end) - offset);
        }

        private ulong ReadLittleEndian(int offset, int size)
        {
            if (offset < 0 || offset + size > Bytes.Length)
                throw new ArgumentOutOfRangeException(nameof(offset), offset, $"A {size}-byte value at {offset} does not fit in {Bytes.Length} bytes.");
            ulong value = 0;
            for (int i = size - 1; i >= 0; i--) value = (value << 8) | Bytes[offset + i];
            return value;
        }

        /// <summary>Format-Hex style: 16 bytes a row, the run-time address on the left, ASCII on the right.</summary>
        public string ToHexDump()
        {
            var text = new StringBuilder();
            text.Append("Address            00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F\n");
            for (int row = 0; row < Bytes.Length; row += 16)
            {
                text.Append((Address + (ulong)row).ToString("x16", CultureInfo.InvariantCulture)).Append("   ");
                int count = Math.Min(16, Bytes.Length - row);
                for (int i = 0; i < 16; i++)
                    text.Append(i < count ? Bytes[row + i].ToString("X2", CultureInfo.InvariantCulture) + " " : "   ");
                text.Append(' ');
                for (int i = 0; i < count; i++)
                {
                    byte b = Bytes[row + i];
                    text.Append(b >= 0x20 && b < 0x7f ? (char)b : '.');
                }
                text.Append('\n');
            }
            return text.ToString().TrimEnd('\n');
        }

        /// <summary>One 8-byte value a line, named by symbol where it points into the kernel (like dps).</summary>
        public string ToQuadWordDump()
        {
            var text = new StringBuilder();
            for (int offset = 0; offset + 8 <= Bytes.Length; offset += 8)
            {
                ulong value = ReadUInt64(offset);
                text.Append((Address + (ulong)offset).ToString("x16", CultureInfo.InvariantCulture)).Append("  ")
                    .Append(value.ToString("x16", CultureInfo.InvariantCulture));
                if (Target.Describe(value) is string name) text.Append("  ").Append(name);
                text.Append('\n');
            }
            return text.ToString().TrimEnd('\n');
        }

        public override string ToString() =>
            $"{Length} bytes at 0x{Address.ToString("x16", CultureInfo.InvariantCulture)}{(Location == null ? "" : " (" + Location + ")")}";
    }
}
