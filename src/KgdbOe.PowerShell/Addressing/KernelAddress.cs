using System;
using System.Globalization;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// An address as the user wrote it: a number, hex text (0xffffffff81000000, ffffffff`81000000)
    /// or symbol[+offset]. Symbols are resolved later against the session the cmdlet talks to, so
    /// one parameter value means the right thing on every target.
    /// </summary>
    public sealed class KernelAddress
    {
        public KernelAddress(ulong value) { Value = value; }

        public KernelAddress(string text) { Text = text ?? throw new ArgumentNullException(nameof(text)); }

        /// <summary>The address, when it was given as a number.</summary>
        public ulong? Value { get; }

        /// <summary>The text to resolve, when it was given as text.</summary>
        public string? Text { get; }

        public override string ToString() =>
            Value is ulong v ? "0x" + v.ToString("x", CultureInfo.InvariantCulture) : Text!;
    }
}
