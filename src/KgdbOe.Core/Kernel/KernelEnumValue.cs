using System;
using System.Globalization;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// A value of an enum type: shown by its enumerator's name, the number kept. Equal to its name (a string, case-sensitive
    /// as in C) and to its number, so <c>$m.state -eq 'MODULE_STATE_LIVE'</c> and <c>-eq 0</c> both work in PowerShell.
    /// </summary>
    public sealed class KernelEnumValue : IEquatable<KernelEnumValue>, IComparable
    {
        internal KernelEnumValue(EnumType type, long value)
        {
            EnumType = type;
            Value = value;
            Name = type.NameOf(value);
        }

        /// <summary>The enumerator's name, or null when no enumerator has this value (flags, garbage).</summary>
        public string? Name { get; }

        /// <summary>The number.</summary>
        public long Value { get; }

        /// <summary>"enum module_state".</summary>
        public string Type => EnumType.DisplayName;

        /// <summary>The enum type.</summary>
        public EnumType EnumType { get; }

        /// <inheritdoc/>
        public bool Equals(KernelEnumValue? other) => other != null && other.Value == Value && other.EnumType.Name == EnumType.Name;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj switch
        {
            KernelEnumValue e => Equals(e),
            string s => s == Name || s == Value.ToString(CultureInfo.InvariantCulture),
            IConvertible c when !(obj is string) && IsInteger(obj) => Convert.ToInt64(c, CultureInfo.InvariantCulture) == Value,
            _ => false,
        };

        /// <inheritdoc/>
        public override int GetHashCode() => Value.GetHashCode();

        /// <inheritdoc/>
        public int CompareTo(object? obj) => obj switch
        {
            KernelEnumValue e => Value.CompareTo(e.Value),
            IConvertible c when IsInteger(obj) => Value.CompareTo(Convert.ToInt64(c, CultureInfo.InvariantCulture)),
            _ => throw new ArgumentException("An enum value compares with another enum value or a number.", nameof(obj)),
        };

        private static bool IsInteger(object? o) => o is int || o is long || o is uint || o is ulong || o is short || o is ushort || o is byte || o is sbyte;

        /// <summary>The name, or the number when no enumerator has it.</summary>
        public override string ToString() => Name ?? Value.ToString(CultureInfo.InvariantCulture);
    }
}
