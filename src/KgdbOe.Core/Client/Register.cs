using System;
using System.Globalization;

namespace KgdbOe.Client
{
    /// <summary>One register as read from the target (little-endian bytes; Value holds the low 8 bytes).</summary>
    public sealed class Register
    {
        public Register(string name, int size, byte[] bytes)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Size = size;
            Bytes = bytes ?? throw new ArgumentNullException(nameof(bytes));
            ulong v = 0;
            for (int i = Math.Min(8, bytes.Length) - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            Value = v;
        }

        public string Name { get; }
        public int Size { get; }
        public ulong Value { get; }
        public byte[] Bytes { get; }

        public override string ToString() => Name + "=0x" + Value.ToString(Size <= 4 ? "x8" : "x16", CultureInfo.InvariantCulture);
    }
}
