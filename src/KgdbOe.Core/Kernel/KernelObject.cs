using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Text;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// An object of a BTF type at a kernel address, read with one read of sizeof(type). Members decode on demand from that
    /// one buffer: nested structs and unions are KernelObjects over the same bytes (no further read); pointers are
    /// <see cref="KernelPointer"/>s, read only when followed. A snapshot: the bytes are those of the moment of the read.
    /// </summary>
    public sealed class KernelObject
    {
        private readonly byte[] _buffer;
        private readonly int _offset;

        internal KernelObject(KernelContext context, ulong address, KernelType type, byte[] buffer, int offset)
        {
            Context = context;
            Address = address;
            Type = type;
            _buffer = buffer;
            _offset = offset;
        }

        /// <summary>The variable it was read as (Get-KernelVariable), else null.</summary>
        public string? VariableName { get; private set; }

        /// <summary>The CPU whose copy of a per-CPU variable this is, else null.</summary>
        public int? Cpu { get; private set; }

        /// <summary>The same object, labelled as variable <paramref name="name"/> (of <paramref name="cpu"/> for a per-CPU one).</summary>
        public KernelObject AsVariable(string name, int? cpu) =>
            new KernelObject(Context, Address, Type, _buffer, _offset) { VariableName = name, Cpu = cpu };

        /// <summary>The kernel this object was read from.</summary>
        public KernelContext Context { get; }

        /// <summary>Where the object starts in kernel memory.</summary>
        public ulong Address { get; }

        /// <summary>Its type as declared (a typedef stays a typedef).</summary>
        public KernelType Type { get; }

        /// <summary>The C spelling of the type: "struct task_struct", "unsigned long".</summary>
        public string TypeName => Type.DisplayName;

        /// <summary>sizeof(type) in bytes.</summary>
        public ulong Size => Type.Size;

        /// <summary>True for a struct or union (members), false for a scalar, pointer or array (<see cref="Value"/>).</summary>
        public bool IsComposite => Type.Resolve() is StructType;

        /// <summary>The members (anonymous struct/union members lifted into this one); empty unless <see cref="IsComposite"/>.</summary>
        public IReadOnlyList<KernelField> Fields =>
            Type.Resolve() is StructType st ? Context.GetFields(st) : (IReadOnlyList<KernelField>)Array.Empty<KernelField>();

        /// <summary>The decoded value: this object for a struct or union, else the number, text, array or pointer.</summary>
        public object? Value => IsComposite ? this : ValueDecoder.Decode(Context, Type, _buffer, _offset, Address - (ulong)_offset);

        /// <summary>The member at <paramref name="path"/> ("comm", "se.vruntime", "mem[0].base"); throws <see cref="KernelMemberNotFoundException"/>.</summary>
        public object? this[string path] => GetMember(path);

        /// <summary>The member at <paramref name="path"/>, decoded; throws <see cref="KernelMemberNotFoundException"/>.</summary>
        public object? GetMember(string path)
        {
            KernelField field = Context.FindField(Type, path);
            return ValueDecoder.DecodeField(Context, field, _buffer, _offset, Address - (ulong)_offset);
        }

        /// <summary>The value of <paramref name="field"/> (one of <see cref="Fields"/>).</summary>
        public object? GetValue(KernelField field) =>
            ValueDecoder.DecodeField(Context, field ?? throw new ArgumentNullException(nameof(field)), _buffer, _offset, Address - (ulong)_offset);

        /// <summary>True when the type has a member called <paramref name="name"/> (any case).</summary>
        public bool HasMember(string name) => Type.Resolve() is StructType st && Context.GetLayout(st).Find(name) != null;

        /// <summary>A pointer to the member at <paramref name="path"/> (C's <c>&amp;obj-&gt;path</c>).</summary>
        public KernelPointer GetAddressOf(string path)
        {
            KernelField field = Context.FindField(Type, path);
            return new KernelPointer(Context, Address + field.Offset, field.Type);
        }

        /// <summary>A pointer to this object, with its type: re-read it later with <see cref="KernelPointer.Read()"/>.</summary>
        public KernelPointer ToPointer() => new KernelPointer(Context, Address, Type);

        /// <summary>A copy of the object's bytes.</summary>
        public byte[] GetBytes()
        {
            var bytes = new byte[(int)Size];
            Buffer.BlockCopy(_buffer, _offset, bytes, 0, bytes.Length);
            return bytes;
        }

        /// <summary>A numeric member (integer, enum, bool or pointer) as an unsigned 64-bit value.</summary>
        public ulong GetUInt64(string path) => ToUInt64(GetMember(path), TypeName + "." + path);

        /// <summary>A numeric member as a signed 64-bit value (sign-extended from its own width).</summary>
        public long GetInt64(string path) => unchecked((long)GetUInt64(path));

        /// <summary>A char-array member as text (up to the NUL).</summary>
        public string GetString(string path) =>
            GetMember(path) as string ?? throw new KernelLayoutException($"'{TypeName}.{path}' is not a char array.", TypeName + "." + path);

        /// <summary>Converts a decoded number, enum, bool or pointer to its 64 bits.</summary>
        public static ulong ToUInt64(object? value, string what) => value switch
        {
            ulong u => u,
            long l => unchecked((ulong)l),
            uint ui => ui,
            int i => unchecked((ulong)(long)i),
            ushort us => us,
            short s => unchecked((ulong)(long)s),
            byte b => b,
            sbyte sb => unchecked((ulong)(long)sb),
            bool f => f ? 1UL : 0UL,
            KernelEnumValue e => unchecked((ulong)e.Value),
            KernelPointer p => p.Address,
            BigInteger bi => unchecked((ulong)(bi & ulong.MaxValue)),
            _ => throw new KernelLayoutException($"'{what}' is not a number.", what),
        };

        /// <summary>
        /// A one-line picture: "{counter=1}" for a small struct of scalars, "struct task_struct @ 0xffff888003a1c000" otherwise,
        /// the value itself for a scalar.
        /// </summary>
        public override string ToString()
        {
            if (!IsComposite) return Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "";
            return Inline(0) ?? TypeName + " @ " + KernelObjectException.Hex(Address);
        }

        // "{a=1, b=0x...}" for a struct of at most 4 scalars (small structs nested 2 deep inline too: refcount_t
        // gives "{refs={counter=1}}"), at most 100 characters; else null.
        private string? Inline(int depth)
        {
            IReadOnlyList<KernelField> fields = Fields;
            if (fields.Count == 0 || fields.Count > 4 || depth > 2) return null;
            var sb = new StringBuilder("{");
            foreach (KernelField f in fields)
            {
                object? v = GetValue(f);
                string? text = v switch
                {
                    KernelObject o when o.IsComposite => o.Inline(depth + 1),
                    object[] _ => null,
                    _ => Convert.ToString(v, CultureInfo.InvariantCulture),
                };
                if (text == null) return null;
                if (sb.Length > 1) sb.Append(", ");
                sb.Append(f.Name).Append('=').Append(text);
                if (sb.Length > 100) return null;
            }
            return sb.Append('}').ToString();
        }
    }
}
