using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.Types
{
    /// <summary>One member of a struct or union, as BTF lists it (btf_member).</summary>
    public sealed class StructMember
    {
        internal StructMember(string name, KernelType type, ulong bitOffset, uint bitFieldSize)
        {
            Name = name;
            Type = type;
            BitOffset = bitOffset;
            BitFieldSize = bitFieldSize;
        }

        /// <summary>The member's name; "" for an anonymous struct or union member.</summary>
        public string Name { get; }

        /// <summary>The member's type.</summary>
        public KernelType Type { get; }

        /// <summary>Offset from the start of the containing struct, in bits.</summary>
        public ulong BitOffset { get; }

        /// <summary>The width of a bit field in bits; 0 when the member is not a bit field.</summary>
        public uint BitFieldSize { get; }

        /// <summary>Offset from the start of the containing struct, in whole bytes (rounded down for a bit field).</summary>
        public ulong Offset => BitOffset / 8;

        /// <summary>True for a bit field.</summary>
        public bool IsBitField => BitFieldSize != 0;

        internal StructMember Moved(ulong bitOffset) => new StructMember(Name, Type, BitOffset + bitOffset, BitFieldSize);

        public override string ToString() =>
            Type.Declare(Name) + (IsBitField ? ":" + BitFieldSize.ToString(CultureInfo.InvariantCulture) : string.Empty)
            + " @0x" + Offset.ToString("x", CultureInfo.InvariantCulture);
    }

    /// <summary>BTF_KIND_STRUCT or BTF_KIND_UNION.</summary>
    public sealed class StructType : KernelType
    {
        /// <summary>How deep anonymous members are searched by <see cref="FindMember"/>.</summary>
        private const int MaxAnonymousNesting = 32;

        private readonly uint _size;
        private readonly int _memberOffset;
        private readonly int _memberCount;
        private readonly bool _bitFieldOffsets;
        private StructMember[]? _members;

        internal StructType(BtfTypeGraph graph, int id, bool isUnion, string name, uint size, int memberOffset, int memberCount, bool bitFieldOffsets)
            : base(graph, id, isUnion ? KernelTypeKind.Union : KernelTypeKind.Struct, name)
        {
            _size = size;
            _memberOffset = memberOffset;
            _memberCount = memberCount;
            _bitFieldOffsets = bitFieldOffsets;
        }

        /// <summary>True for a union.</summary>
        public bool IsUnion => Kind == KernelTypeKind.Union;

        /// <inheritdoc/>
        public override ulong Size => _size;

        /// <summary>The members in declaration order; anonymous struct/union members appear as one member with Name "".</summary>
        public IReadOnlyList<StructMember> Members => _members ??= Graph!.ReadMembers(_memberOffset, _memberCount, _bitFieldOffsets);

        /// <summary>
        /// The member called <paramref name="name"/>, looking into anonymous struct/union members too (C's rule); such a
        /// member is returned with its <see cref="StructMember.BitOffset"/> relative to this struct. Null when there is none.
        /// </summary>
        public StructMember? FindMember(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            int budget = MaxMembersSearched;
            return Find(name, 0, ref budget);
        }

        /// <summary>How many members one <see cref="FindMember"/> looks at, at most (corrupt BTF could nest without end).</summary>
        private const int MaxMembersSearched = 1 << 20;

        private StructMember? Find(string name, int nesting, ref int budget)
        {
            var members = Members;
            budget -= members.Count;
            if (budget < 0) return null;
            for (int i = 0; i < members.Count; i++)
            {
                if (members[i].Name == name && name.Length > 0) return members[i];
            }
            if (nesting >= MaxAnonymousNesting) return null;
            for (int i = 0; i < members.Count; i++)
            {
                StructMember m = members[i];
                if (m.Name.Length == 0 && m.Type.Resolve() is StructType inner)
                {
                    StructMember? found = inner.Find(name, nesting + 1, ref budget);
                    if (found != null) return found.Moved(m.BitOffset);
                }
            }
            return null;
        }

        internal override string BaseName => (IsUnion ? "union " : "struct ") + (Name.Length > 0 ? Name : "{...}");
    }

    /// <summary>One enumerator of an <see cref="EnumType"/>.</summary>
    public sealed class EnumValue
    {
        internal EnumValue(string name, long value)
        {
            Name = name;
            Value = value;
        }

        /// <summary>The enumerator's name.</summary>
        public string Name { get; }

        /// <summary>Its value (an unsigned 64-bit value above long.MaxValue is stored as its two's complement).</summary>
        public long Value { get; }

        public override string ToString() => Name + " = " + Value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>BTF_KIND_ENUM or BTF_KIND_ENUM64.</summary>
    public sealed class EnumType : KernelType
    {
        private readonly uint _size;
        private readonly int _valueOffset;
        private readonly int _valueCount;
        private readonly bool _is64;
        private EnumValue[]? _values;

        internal EnumType(BtfTypeGraph graph, int id, string name, uint size, int valueOffset, int valueCount, bool is64, bool isSigned)
            : base(graph, id, KernelTypeKind.Enum, name)
        {
            _size = size;
            _valueOffset = valueOffset;
            _valueCount = valueCount;
            _is64 = is64;
            IsSigned = isSigned;
        }

        /// <inheritdoc/>
        public override ulong Size => _size;

        /// <summary>The kind_flag of the BTF record: true when the values are signed.</summary>
        public bool IsSigned { get; }

        /// <summary>The enumerators in declaration order.</summary>
        public IReadOnlyList<EnumValue> Values => _values ??= Graph!.ReadEnumValues(_valueOffset, _valueCount, _is64, IsSigned);

        /// <summary>The first enumerator whose value is <paramref name="value"/>, or null.</summary>
        public string? NameOf(long value)
        {
            var values = Values;
            for (int i = 0; i < values.Count; i++)
            {
                if (values[i].Value == value) return values[i].Name;
            }
            return null;
        }

        internal override string BaseName => "enum " + (Name.Length > 0 ? Name : "{...}");
    }
}
