using System;
using System.Collections.Generic;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// The members of one struct or union as typed objects show them (anonymous members lifted, C's lookup rule), with a
    /// name index. Built once per type and kept by the <see cref="KernelContext"/>.
    /// </summary>
    internal sealed class FieldLayout
    {
        // Anonymous struct/union members nest this deep at most (the kernel's deepest is far less).
        private const int MaxNesting = 32;

        private readonly Dictionary<string, KernelField> _byName = new Dictionary<string, KernelField>(StringComparer.Ordinal);
        private readonly Dictionary<string, KernelField> _byNameIgnoreCase = new Dictionary<string, KernelField>(StringComparer.OrdinalIgnoreCase);

        internal FieldLayout(StructType type)
        {
            var fields = new List<KernelField>();
            Add(type, 0, fields, 0);
            Fields = fields;
            foreach (KernelField f in fields)
            {
                if (!_byName.ContainsKey(f.Name)) _byName.Add(f.Name, f);
                if (!_byNameIgnoreCase.ContainsKey(f.Name)) _byNameIgnoreCase.Add(f.Name, f);
            }
        }

        /// <summary>The members in declaration order.</summary>
        public IReadOnlyList<KernelField> Fields { get; }

        /// <summary>The member called <paramref name="name"/> (exact case first, then any case, as PowerShell names go).</summary>
        public KernelField? Find(string name) =>
            _byName.TryGetValue(name, out KernelField? f) ? f : _byNameIgnoreCase.TryGetValue(name, out f) ? f : null;

        private static void Add(StructType type, ulong bitOffset, List<KernelField> fields, int nesting)
        {
            foreach (StructMember m in type.Members)
            {
                ulong at = bitOffset + m.BitOffset;
                if (m.Name.Length == 0)
                {
                    if (m.Type.Resolve() is StructType inner && nesting < MaxNesting) Add(inner, at, fields, nesting + 1);
                    continue; // an unnamed bit field is padding
                }
                uint bits = m.BitFieldSize;
                if (bits == 0 && m.Type.Resolve() is IntType it && (it.Bits != it.Size * 8 || it.BitOffset != 0) && it.Bits != 0)
                {
                    // BTF without kind_flag encodes a bit field in its int type (BTF_INT_OFFSET, BTF_INT_BITS).
                    bits = it.Bits;
                    at += it.BitOffset;
                }
                fields.Add(new KernelField(m.Name, m.Type, at, bits));
            }
        }
    }
}
