using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace KgdbOe.Tests.Types
{
    /// <summary>
    /// Writes small BTF blobs by hand, record by record as include/uapi/linux/btf.h lays them out, for tests of every kind,
    /// split BTF and corrupt input. Type ids are returned by each Add call (they start after the base's, for split BTF).
    /// </summary>
    internal sealed class BtfBuilder
    {
        public const int Int = 1, Ptr = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8, Volatile = 9, Const = 10,
            Restrict = 11, Func = 12, FuncProto = 13, Var = 14, Datasec = 15, Float = 16, DeclTag = 17, TypeTag = 18, Enum64 = 19;

        private readonly MemoryStream _types = new MemoryStream();
        private readonly MemoryStream _strings = new MemoryStream();
        private readonly Dictionary<string, uint> _stringOffsets = new Dictionary<string, uint>();
        private readonly uint _firstString;
        private int _nextId;

        public BtfBuilder(int firstId = 1, uint firstString = 0)
        {
            _nextId = firstId;
            _firstString = firstString;
            if (firstString == 0) _strings.WriteByte(0); // offset 0 is "" in base BTF
        }

        public uint Str(string s)
        {
            if (s.Length == 0 && _firstString == 0) return 0;
            if (_stringOffsets.TryGetValue(s, out uint off)) return off;
            off = _firstString + (uint)_strings.Length;
            byte[] b = Encoding.UTF8.GetBytes(s);
            _strings.Write(b, 0, b.Length);
            _strings.WriteByte(0);
            _stringOffsets[s] = off;
            return off;
        }

        private void U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            _types.Write(b);
        }

        /// <summary>A btf_type header: name, info (vlen, kind, kind_flag), size or type.</summary>
        public int Type(string name, int kind, int vlen, bool flag, uint sizeOrType)
        {
            U32(name.Length == 0 ? 0 : Str(name));
            U32((uint)vlen | ((uint)kind << 24) | (flag ? 1u << 31 : 0));
            U32(sizeOrType);
            return _nextId++;
        }

        public int AddInt(string name, uint size, bool signed = false, bool isChar = false, bool isBool = false, uint bits = 0, uint offset = 0)
        {
            int id = Type(name, Int, 0, false, size);
            uint encoding = (signed ? 1u : 0) | (isChar ? 2u : 0) | (isBool ? 4u : 0);
            U32((encoding << 24) | (offset << 16) | (bits == 0 ? size * 8 : bits));
            return id;
        }

        public int AddRef(int kind, int target, string name = "") => Type(name, kind, 0, false, (uint)target);

        public int AddArray(int element, int index, uint length)
        {
            int id = Type("", Array, 0, false, 0);
            U32((uint)element); U32((uint)index); U32(length);
            return id;
        }

        /// <summary>A struct or union; members are (name, type, bit offset, bit-field size) — any bit-field size sets kind_flag.</summary>
        public int AddStruct(string name, uint size, params (string Name, int Type, uint BitOffset, uint BitSize)[] members) =>
            AddComposite(Struct, name, size, members);

        public int AddUnion(string name, uint size, params (string Name, int Type, uint BitOffset, uint BitSize)[] members) =>
            AddComposite(Union, name, size, members);

        private int AddComposite(int kind, string name, uint size, (string Name, int Type, uint BitOffset, uint BitSize)[] members)
        {
            bool flag = System.Array.Exists(members, m => m.BitSize != 0);
            int id = Type(name, kind, members.Length, flag, size);
            foreach (var m in members)
            {
                U32(m.Name.Length == 0 ? 0 : Str(m.Name));
                U32((uint)m.Type);
                U32(flag ? (m.BitSize << 24) | m.BitOffset : m.BitOffset);
            }
            return id;
        }

        public int AddEnum(string name, uint size, bool signed, params (string Name, int Value)[] values)
        {
            int id = Type(name, Enum, values.Length, signed, size);
            foreach (var v in values) { U32(Str(v.Name)); U32(unchecked((uint)v.Value)); }
            return id;
        }

        public int AddEnum64(string name, bool signed, params (string Name, long Value)[] values)
        {
            int id = Type(name, Enum64, values.Length, signed, 8);
            foreach (var v in values) { U32(Str(v.Name)); U32(unchecked((uint)v.Value)); U32(unchecked((uint)((ulong)v.Value >> 32))); }
            return id;
        }

        public int AddFuncProto(int returnType, params (string Name, int Type)[] parameters)
        {
            int id = Type("", FuncProto, parameters.Length, false, (uint)returnType);
            foreach (var p in parameters) { U32(p.Name.Length == 0 ? 0 : Str(p.Name)); U32((uint)p.Type); }
            return id;
        }

        public int AddFunc(string name, int proto, int linkage = 1) => Type(name, Func, linkage, false, (uint)proto);

        public int AddVar(string name, int type, uint linkage = 1)
        {
            int id = Type(name, Var, 0, false, (uint)type);
            U32(linkage);
            return id;
        }

        public int AddDatasec(string name, uint size, params (int Var, uint Offset, uint Size)[] entries)
        {
            int id = Type(name, Datasec, entries.Length, false, size);
            foreach (var e in entries) { U32((uint)e.Var); U32(e.Offset); U32(e.Size); }
            return id;
        }

        public int AddFloat(string name, uint size) => Type(name, Float, 0, false, size);

        public int AddDeclTag(string name, int target, int component)
        {
            int id = Type(name, DeclTag, 0, false, (uint)target);
            U32(unchecked((uint)component));
            return id;
        }

        /// <summary>The blob: header (magic, version 1, flags 0, hdr_len 24, type_off 0, type_len, str_off, str_len), types, strings.</summary>
        public byte[] Build()
        {
            byte[] types = _types.ToArray(), strings = _strings.ToArray();
            var blob = new byte[24 + types.Length + strings.Length];
            var w = blob.AsSpan();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(w, 0xEB9F);
            blob[2] = 1;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(w.Slice(4), 24);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(w.Slice(8), 0);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(w.Slice(12), (uint)types.Length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(w.Slice(16), (uint)types.Length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(w.Slice(20), (uint)strings.Length);
            types.CopyTo(blob, 24);
            strings.CopyTo(blob, 24 + types.Length);
            return blob;
        }
    }
}
