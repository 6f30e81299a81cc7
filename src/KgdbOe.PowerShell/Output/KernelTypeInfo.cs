using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using KgdbOe.Types;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// One kernel type from the session's BTF, with the layout of its members the way `pahole -C` shows it. For a typedef
    /// (or const/volatile) of a struct the members are the struct's.
    /// </summary>
    public sealed class KernelTypeInfo
    {
        internal KernelTypeInfo(KernelTargetSession target, KernelType type)
        {
            Target = target;
            Type = type;
            Name = type.Name;
            TypeName = type.DisplayName;
            Kind = type.Kind.ToString();
            Size = type.Size;
            KernelType resolved = type.Resolve();
            Members = resolved is StructType s
                ? s.Members.Select(m => new KernelTypeMember(m)).ToArray()
                : new KernelTypeMember[0];
            Values = resolved is EnumType e ? e.Values.ToArray() : new EnumValue[0];
            Definition = ReferenceEquals(resolved, type) ? null : resolved.DisplayName;
        }

        public KernelTargetSession Target { get; }

        /// <summary>The type's own name ("task_struct", "u64"); "" when anonymous.</summary>
        public string Name { get; }

        /// <summary>The C spelling: "struct task_struct", "u64", "unsigned long".</summary>
        public string TypeName { get; }

        /// <summary>Struct, Union, Enum, Typedef, Int, Pointer... (KgdbOe.Types.KernelTypeKind).</summary>
        public string Kind { get; }

        /// <summary>Size in bytes.</summary>
        public ulong Size { get; }

        /// <summary>For a typedef or qualified type: what it stands for ("struct spinlock"), else null.</summary>
        public string? Definition { get; }

        /// <summary>The members of a struct or union (of the struct a typedef names), in declaration order; empty otherwise.</summary>
        public KernelTypeMember[] Members { get; }

        /// <summary>The enumerators of an enum; empty otherwise.</summary>
        public EnumValue[] Values { get; }

        /// <summary>The type object itself, for scripts (KgdbOe.Types.KernelType).</summary>
        public KernelType Type { get; }

        /// <summary>The layout as text, in pahole's shape with hexadecimal offsets ("/* offset size */", bit fields "/* offset:bit size */").</summary>
        public string FormatLayout()
        {
            var sb = new StringBuilder();
            string head = Definition != null ? $"{TypeName} = {Definition}" : TypeName;
            if (Members.Length == 0 && Values.Length == 0)
                return head + string.Format(CultureInfo.InvariantCulture, "  /* size: 0x{0:x} ({0}) */", Size);
            sb.Append(head).Append(" {").AppendLine();
            foreach (KernelTypeMember m in Members)
            {
                string declaration = "\t" + m.Declaration + ";";
                string where = m.BitSize is uint
                    ? string.Format(CultureInfo.InvariantCulture, "0x{0:x}:{1}", m.Offset, m.BitOffset)
                    : string.Format(CultureInfo.InvariantCulture, "0x{0:x}", m.Offset);
                sb.Append(declaration.PadRight(56)).Append(" /* ").Append(where.PadLeft(9)).Append(' ')
                  .Append(m.Size.ToString(CultureInfo.InvariantCulture).PadLeft(5)).Append(" */").AppendLine();
            }
            foreach (EnumValue v in Values)
                sb.Append('\t').Append(v.Name).Append(" = ").Append(v.Value.ToString(CultureInfo.InvariantCulture)).Append(',').AppendLine();
            sb.Append(string.Format(CultureInfo.InvariantCulture, "}};  /* size: 0x{0:x} ({0}), members: {1} */", Size, Members.Length + Values.Length));
            return sb.ToString();
        }

        public override string ToString() => TypeName;
    }

    /// <summary>One member of a struct or union: where it is and what it is.</summary>
    public sealed class KernelTypeMember
    {
        internal KernelTypeMember(StructMember member)
        {
            Member = member;
            Name = member.Name;
            TypeName = member.Type.DisplayName;
            Offset = member.Offset;
            Size = member.Type.Size;
            if (member.IsBitField)
            {
                BitOffset = (uint)(member.BitOffset % 8);
                BitSize = member.BitFieldSize;
            }
            Declaration = member.Type.Declare(member.Name) + (member.IsBitField ? ":" + member.BitFieldSize.ToString(CultureInfo.InvariantCulture) : string.Empty);
        }

        /// <summary>Byte offset from the start of the struct (for a bit field: the byte holding its first bit).</summary>
        public ulong Offset { get; }

        /// <summary>The size of the member's type in bytes (of the storage type for a bit field).</summary>
        public ulong Size { get; }

        /// <summary>For a bit field: its first bit within the byte at <see cref="Offset"/> (0-7, from the least significant bit); else null.</summary>
        public uint? BitOffset { get; }

        /// <summary>For a bit field: its width in bits; else null.</summary>
        public uint? BitSize { get; }

        /// <summary>The member's name; "" for an anonymous struct or union.</summary>
        public string Name { get; }

        /// <summary>The C spelling of the member's type ("struct list_head *", "char [16]").</summary>
        public string TypeName { get; }

        /// <summary>The C declaration ("char comm[16]", "unsigned int sched_reset_on_fork:1").</summary>
        public string Declaration { get; }

        /// <summary>The BTF member (KgdbOe.Types.StructMember), with its type object.</summary>
        public StructMember Member { get; }

        public override string ToString() => Declaration;
    }
}
