using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;

namespace KgdbOe.Types
{
    /// <summary>
    /// The kernel's types from a BTF blob (Documentation/bpf/btf.rst, include/uapi/linux/btf.h): /sys/kernel/btf/vmlinux,
    /// the .BTF section of vmlinux, or the bytes between __start_BTF and __stop_BTF in a running kernel. A module's BTF is
    /// "split" BTF on top of vmlinux's: its type ids and string offsets continue from the base graph's.
    /// </summary>
    /// <remarks>
    /// <see cref="Parse"/> checks the whole blob in one pass (every record inside its section, every string offset and type
    /// id in range, no reference cycles among typedefs, modifiers, pointers and arrays) and keeps only the blob and one
    /// offset per type; the <see cref="KernelType"/> objects, members and names are made on first use. Little-endian
    /// (x86-64) BTF only. Immutable after Parse and safe for concurrent readers.
    /// </remarks>
    public sealed class BtfTypeGraph
    {
        /// <summary>btf_header.magic.</summary>
        public const ushort Magic = 0xEB9F;

        /// <summary>The size of struct btf_header as of version 1.</summary>
        private const int HeaderSize = 24;

        private const int KindInt = 1, KindPtr = 2, KindArray = 3, KindStruct = 4, KindUnion = 5, KindEnum = 6, KindFwd = 7,
            KindTypedef = 8, KindVolatile = 9, KindConst = 10, KindRestrict = 11, KindFunc = 12, KindFuncProto = 13,
            KindVar = 14, KindDatasec = 15, KindFloat = 16, KindDeclTag = 17, KindTypeTag = 18, KindEnum64 = 19;

        private readonly byte[] _data;
        private readonly BtfTypeGraph? _base;
        private readonly int _firstId;              // the first id defined by this blob: 1, or the base's Count
        private readonly int[] _offsets;            // byte offset in _data of the record of type _firstId + i
        private readonly int _stringStart;          // byte offset in _data of this blob's string section
        private readonly int _stringLength;
        private readonly int _firstStringOffset;    // the first string offset of this blob: 0, or the base's StringLength
        private readonly KernelType?[] _types;      // made on first use; a race makes an equal object twice, harmless

        private readonly object _indexLock = new object(); // guards _nameIndex, _pointerIndex and _integerIndex
        private Dictionary<string, int[]>? _nameIndex;
        private Dictionary<int, int>? _pointerIndex;
        private Dictionary<string, int>? _integerIndex;

        private BtfTypeGraph(byte[] data, BtfTypeGraph? baseGraph, int[] offsets, int stringStart, int stringLength)
        {
            _data = data;
            _base = baseGraph;
            _firstId = baseGraph?.Count ?? 1;
            _offsets = offsets;
            _stringStart = stringStart;
            _stringLength = stringLength;
            _firstStringOffset = baseGraph?.StringLength ?? 0;
            _types = new KernelType?[offsets.Length];
        }

        /// <summary>The number of type ids, counting void (id 0) and the base graph's: valid ids are 0 .. Count-1.</summary>
        public int Count => _firstId + _offsets.Length;

        /// <summary>The base graph of split (module) BTF, else null.</summary>
        public BtfTypeGraph? BaseGraph => _base;

        /// <summary>The size of the string space in bytes, the base graph's included.</summary>
        internal int StringLength => _firstStringOffset + _stringLength;

        /// <summary>The type with BTF id <paramref name="id"/> (0 is void). Throws ArgumentOutOfRangeException for an id not in 0..Count-1.</summary>
        public KernelType this[int id]
        {
            get
            {
                if (id == 0) return VoidType.Instance;
                if (id < _firstId)
                {
                    if (_base == null || id < 0) throw new ArgumentOutOfRangeException(nameof(id), id, "no such BTF type id");
                    return _base[id];
                }
                int i = id - _firstId;
                if (i >= _offsets.Length) throw new ArgumentOutOfRangeException(nameof(id), id, "no such BTF type id (Count is " + Count + ")");
                KernelType? t = Volatile.Read(ref _types[i]);
                if (t == null)
                {
                    t = Create(id, _offsets[i]);
                    t = Interlocked.CompareExchange(ref _types[i], t, null) ?? t;
                }
                return t;
            }
        }

        /// <summary>
        /// Reads BTF. <paramref name="baseGraph"/> is vmlinux's graph when <paramref name="data"/> is a module's split BTF
        /// (/sys/kernel/btf/&lt;module&gt;). The array is kept, not copied: do not change it afterwards.
        /// Throws <see cref="BtfFormatException"/> (with the byte offset and what was wrong) for truncated or corrupt BTF.
        /// </summary>
        public static BtfTypeGraph Parse(byte[] data, BtfTypeGraph? baseGraph = null)
        {
            if (data == null) throw new ArgumentNullException(nameof(data));
            if (data.Length < 8) throw new BtfFormatException(0, "only " + data.Length + " bytes: too short for a BTF header (24 bytes)");
            ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(data);
            if (magic == 0x9FEB) throw new BtfFormatException(0, "big-endian BTF (magic bytes EB 9F); only little-endian BTF is read");
            if (magic != Magic) throw new BtfFormatException(0, "magic is 0x" + magic.ToString("x4", CultureInfo.InvariantCulture) + ", not 0xeb9f: not BTF");
            if (data[2] != 1) throw new BtfFormatException(2, "version " + data[2] + " (only version 1 is known)");
            uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
            if (hdrLen < HeaderSize) throw new BtfFormatException(4, "hdr_len " + hdrLen + " is less than the 24 bytes of a version 1 header");
            if (hdrLen > (uint)data.Length) throw new BtfFormatException(4, "hdr_len " + hdrLen + " runs past the end of the " + data.Length + " bytes");
            uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8));
            uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(12));
            uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(16));
            uint strLen = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(20));
            long typeStart = hdrLen + (long)typeOff, typeEnd = typeStart + typeLen;
            long strStart = hdrLen + (long)strOff, strEnd = strStart + strLen;
            if (typeEnd > data.Length) throw new BtfFormatException(8, "type section (hdr_len+" + typeOff + ", " + typeLen + " bytes) runs past the end of the " + data.Length + " bytes");
            if (strEnd > data.Length) throw new BtfFormatException(16, "string section (hdr_len+" + strOff + ", " + strLen + " bytes) runs past the end of the " + data.Length + " bytes");
            if ((typeOff & 3) != 0) throw new BtfFormatException(8, "type_off " + typeOff + " is not 4-byte aligned");
            if (typeStart < strEnd && strStart < typeEnd) throw new BtfFormatException(8, "type and string sections overlap");
            if (strLen == 0) throw new BtfFormatException(20, "empty string section");
            if (data[strEnd - 1] != 0) throw new BtfFormatException(strEnd - 1, "string section does not end with a NUL");
            if (baseGraph == null && data[strStart] != 0) throw new BtfFormatException(strStart, "string section does not start with the empty string");
            if (baseGraph != null && (long)baseGraph.StringLength + strLen > int.MaxValue) throw new BtfFormatException(20, "string section too large");

            int[] offsets = ScanTypes(data, (int)typeStart, (int)typeEnd, baseGraph?.Count ?? 1);
            var graph = new BtfTypeGraph(data, baseGraph, offsets, (int)strStart, (int)strLen);
            graph.Validate();
            return graph;
        }

        /// <summary>Pass 1: where each type record starts; checks that each record's trailing data fits in the section.</summary>
        private static int[] ScanTypes(byte[] data, int start, int end, int firstId)
        {
            var offsets = new int[Math.Max(16, (end - start) / 24)];
            int n = 0;
            int pos = start;
            while (pos < end)
            {
                if (end - pos < 12) throw new BtfFormatException(pos, "type " + (firstId + n) + ": record truncated (" + (end - pos) + " of 12 bytes left in the type section)");
                uint info = U32(data, pos + 4);
                int kind = (int)((info >> 24) & 0x1f);
                int vlen = (int)(info & 0xffff);
                long extra = kind switch
                {
                    KindInt => 4,
                    KindPtr or KindFwd or KindTypedef or KindVolatile or KindConst or KindRestrict or KindFunc or KindTypeTag or KindFloat => 0,
                    KindArray => 12,
                    KindStruct or KindUnion => 12L * vlen,
                    KindEnum => 8L * vlen,
                    KindFuncProto => 8L * vlen,
                    KindVar => 4,
                    KindDatasec => 12L * vlen,
                    KindDeclTag => 4,
                    KindEnum64 => 12L * vlen,
                    _ => throw new BtfFormatException(pos + 4, "type " + (firstId + n) + ": unknown kind " + kind),
                };
                if (12 + extra > end - pos)
                    throw new BtfFormatException(pos, "type " + (firstId + n) + " (" + KindName(kind) + ", vlen " + vlen + "): its " + (12 + extra) + " bytes run past the end of the type section");
                if (n == offsets.Length) Array.Resize(ref offsets, offsets.Length * 2);
                offsets[n++] = pos;
                pos += 12 + (int)extra;
                if ((long)firstId + n >= 0x7fffffff) throw new BtfFormatException(pos, "too many types");
            }
            Array.Resize(ref offsets, n);
            return offsets;
        }

        /// <summary>Pass 2: every string offset and type id in range, the kinds FUNC, DATASEC and INT rely on, no reference cycles.</summary>
        private void Validate()
        {
            int count = Count;
            for (int i = 0; i < _offsets.Length; i++)
            {
                int id = _firstId + i;
                int pos = _offsets[i];
                CheckString(U32(_data, pos), pos, id);
                uint info = U32(_data, pos + 4);
                int kind = (int)((info >> 24) & 0x1f);
                int vlen = (int)(info & 0xffff);
                uint sizeOrType = U32(_data, pos + 8);
                int extra = pos + 12;
                switch (kind)
                {
                    case KindInt:
                    {
                        uint enc = U32(_data, extra);
                        uint bits = enc & 0xff, off = (enc >> 16) & 0xff;
                        if (sizeOrType == 0 || sizeOrType > 16 || (bits + 7) / 8 > sizeOrType || off + bits > 128)
                            throw new BtfFormatException(pos, "type " + id + " (INT): size " + sizeOrType + " with " + bits + " bits at bit " + off + " is not an integer");
                        break;
                    }
                    case KindPtr: case KindTypedef: case KindVolatile: case KindConst: case KindRestrict: case KindTypeTag:
                    case KindVar: case KindDeclTag:
                        CheckTypeId(sizeOrType, pos + 8, id, kind);
                        break;
                    case KindFunc:
                        CheckTypeId(sizeOrType, pos + 8, id, kind);
                        if (KindOf((int)sizeOrType) != KindFuncProto)
                            throw new BtfFormatException(pos + 8, "type " + id + " (FUNC) refers to type " + sizeOrType + ", which is " + KindName(KindOf((int)sizeOrType)) + ", not FUNC_PROTO");
                        break;
                    case KindArray:
                        CheckTypeId(U32(_data, extra), extra, id, kind);
                        CheckTypeId(U32(_data, extra + 4), extra + 4, id, kind);
                        break;
                    case KindStruct: case KindUnion:
                        for (int m = 0; m < vlen; m++)
                        {
                            int mp = extra + 12 * m;
                            CheckString(U32(_data, mp), mp, id);
                            CheckTypeId(U32(_data, mp + 4), mp + 4, id, kind);
                        }
                        break;
                    case KindEnum: case KindFuncProto:
                        for (int m = 0; m < vlen; m++)
                        {
                            int mp = extra + 8 * m;
                            CheckString(U32(_data, mp), mp, id);
                            if (kind == KindFuncProto) CheckTypeId(U32(_data, mp + 4), mp + 4, id, kind);
                        }
                        if (kind == KindFuncProto) CheckTypeId(sizeOrType, pos + 8, id, kind);
                        break;
                    case KindEnum64:
                        for (int m = 0; m < vlen; m++) CheckString(U32(_data, extra + 12 * m), extra + 12 * m, id);
                        break;
                    case KindDatasec:
                        for (int m = 0; m < vlen; m++)
                        {
                            int mp = extra + 12 * m;
                            uint v = U32(_data, mp);
                            CheckTypeId(v, mp, id, kind);
                            if (KindOf((int)v) != KindVar)
                                throw new BtfFormatException(mp, "type " + id + " (DATASEC) entry " + m + " refers to type " + v + ", which is " + KindName(KindOf((int)v)) + ", not VAR");
                        }
                        break;
                }
            }
            _depths = ComputeDepths();
        }

        private void CheckString(uint offset, int at, int id)
        {
            if (offset >= (uint)StringLength)
                throw new BtfFormatException(at, "type " + id + ": string offset " + offset + " is past the end of the strings (" + StringLength + " bytes)");
        }

        private void CheckTypeId(uint typeId, int at, int id, int kind)
        {
            if (typeId >= (uint)Count)
                throw new BtfFormatException(at, "type " + id + " (" + KindName(kind) + ") refers to type " + typeId + ", but there are only " + Count + " type ids");
        }

        /// <summary>
        /// How long the longest chain of references (pointer, typedef, modifier, array element, function, prototype,
        /// variable) from each type is; a cycle or a chain deeper than <see cref="KernelType.MaxChainDepth"/> is corrupt
        /// BTF (structs, unions and enums end a chain: real cycles go through them).
        /// </summary>
        private short[] ComputeDepths()
        {
            var depths = new short[_offsets.Length];
            var state = new byte[_offsets.Length];          // 0 unseen, 1 on the stack, 2 done
            var stack = new Stack<(int Index, int Child)>();
            for (int root = 0; root < _offsets.Length; root++)
            {
                if (state[root] == 2) continue;
                stack.Push((root, 0));
                state[root] = 1;
                while (stack.Count > 0)
                {
                    (int index, int child) = stack.Peek();
                    int target = ChainChild(_offsets[index], child);
                    if (target < 0)
                    {
                        state[index] = 2;
                        stack.Pop();
                        continue;
                    }
                    int depth;
                    if (target == 0) depth = 0;
                    else if (target < _firstId) depth = _base!._depths[target - _base._firstId];
                    else
                    {
                        int t = target - _firstId;
                        if (state[t] == 1)
                            throw new BtfFormatException(_offsets[index], "type " + (_firstId + index) + " is part of a reference cycle through type " + target + " (not via a struct, union or enum)");
                        if (state[t] == 0)
                        {
                            // Measure the child first; this edge is looked at again when it is done.
                            state[t] = 1;
                            stack.Push((t, 0));
                            continue;
                        }
                        depth = depths[t];
                    }
                    if (depth + 1 > depths[index])
                    {
                        if (depth + 1 > KernelType.MaxChainDepth)
                            throw new BtfFormatException(_offsets[index], "type " + (_firstId + index) + ": reference chain deeper than " + KernelType.MaxChainDepth);
                        depths[index] = (short)(depth + 1);
                    }
                    stack.Pop();
                    stack.Push((index, child + 1));
                }
            }
            return depths;
        }

        /// <summary>The <paramref name="child"/>-th type referred to along a chain by the record at <paramref name="pos"/>, or -1 past the last.</summary>
        private int ChainChild(int pos, int child)
        {
            uint info = U32(_data, pos + 4);
            int kind = (int)((info >> 24) & 0x1f);
            switch (kind)
            {
                case KindPtr: case KindTypedef: case KindVolatile: case KindConst: case KindRestrict: case KindTypeTag:
                case KindFunc: case KindVar:
                    return child == 0 ? (int)U32(_data, pos + 8) : -1;
                case KindArray:
                    return child == 0 ? (int)U32(_data, pos + 12) : -1;
                case KindFuncProto:
                    if (child == 0) return (int)U32(_data, pos + 8);
                    return child <= (int)(info & 0xffff) ? (int)U32(_data, pos + 12 + 8 * (child - 1) + 4) : -1;
                default:
                    return -1;
            }
        }

        private short[] _depths = Array.Empty<short>();

        /// <summary>The BTF_KIND_* number of type <paramref name="id"/> (0 for void).</summary>
        private int KindOf(int id)
        {
            if (id == 0) return 0;
            if (id < _firstId) return _base!.KindOf(id);
            return (int)((U32(_data, _offsets[id - _firstId] + 4) >> 24) & 0x1f);
        }

        private static string KindName(int kind) => kind switch
        {
            0 => "void", KindInt => "INT", KindPtr => "PTR", KindArray => "ARRAY", KindStruct => "STRUCT", KindUnion => "UNION",
            KindEnum => "ENUM", KindFwd => "FWD", KindTypedef => "TYPEDEF", KindVolatile => "VOLATILE", KindConst => "CONST",
            KindRestrict => "RESTRICT", KindFunc => "FUNC", KindFuncProto => "FUNC_PROTO", KindVar => "VAR", KindDatasec => "DATASEC",
            KindFloat => "FLOAT", KindDeclTag => "DECL_TAG", KindTypeTag => "TYPE_TAG", KindEnum64 => "ENUM64",
            _ => "kind " + kind.ToString(CultureInfo.InvariantCulture),
        };

        private static uint U32(byte[] data, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset, 4));

        /// <summary>The NUL-terminated string at <paramref name="offset"/> of the string space (the base's strings come first).</summary>
        internal string GetString(uint offset)
        {
            if (offset == 0) return string.Empty;
            if (offset < (uint)_firstStringOffset) return _base!.GetString(offset);
            int start = _stringStart + (int)(offset - (uint)_firstStringOffset);
            int end = Array.IndexOf(_data, (byte)0, start, _stringStart + _stringLength - start); // found: the section ends with NUL
            return end == start ? string.Empty : Encoding.UTF8.GetString(_data, start, end - start);
        }

        /// <summary>
        /// The type named <paramref name="name"/>: a bare name ("task_struct": struct, then union, enum, typedef, int,
        /// float, forward), "struct x", "union x", "enum x", a name with spaces ("unsigned long"), or any of these followed by
        /// stars ("char *"; a pointer type the BTF lacks is made up with id -1). Null when there is none.
        /// </summary>
        public KernelType? FindType(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            string text = name.Trim();
            int stars = 0;
            while (text.EndsWith("*", StringComparison.Ordinal))
            {
                stars++;
                text = text.Substring(0, text.Length - 1).TrimEnd();
            }
            KernelType? type = text == "void" ? VoidType.Instance : FindNamed(text);
            for (int i = 0; i < stars && type != null; i++) type = PointerTo(type);
            return type;
        }

        private static readonly int[] BareOrder = { KindStruct, KindUnion, KindEnum, KindEnum64, KindTypedef, KindInt, KindFloat, KindFwd };
        private static readonly int[] StructOrder = { KindStruct, KindFwd };
        private static readonly int[] UnionOrder = { KindUnion, KindFwd };
        private static readonly int[] EnumOrder = { KindEnum, KindEnum64 };

        private KernelType? FindNamed(string text)
        {
            int[] order = BareOrder;
            bool? fwdUnion = null;
            if (text.StartsWith("struct ", StringComparison.Ordinal)) { order = StructOrder; fwdUnion = false; text = text.Substring(7).Trim(); }
            else if (text.StartsWith("union ", StringComparison.Ordinal)) { order = UnionOrder; fwdUnion = true; text = text.Substring(6).Trim(); }
            else if (text.StartsWith("enum ", StringComparison.Ordinal)) { order = EnumOrder; text = text.Substring(5).Trim(); }
            if (text.Length == 0) return null;
            foreach (int kind in order)
            {
                for (BtfTypeGraph? g = this; g != null; g = g._base)
                {
                    int id = g.FindId(text, kind, fwdUnion);
                    if (id > 0) return g[id];
                }
            }
            // "unsigned long" is "long unsigned int" in BTF made from GCC's DWARF: the same integer, other words.
            if (ReferenceEquals(order, BareOrder) && IntegerKey(text) is string key)
            {
                for (BtfTypeGraph? g = this; g != null; g = g._base)
                {
                    if (g.IntegerIndex.TryGetValue(key, out int id)) return g[id];
                }
            }
            return null;
        }

        /// <summary>
        /// What a C integer spelling means, whatever the word order: "u,l2" for "unsigned long long" and
        /// "long long unsigned int"; char, signed char and unsigned char stay three types. Null for other names.
        /// </summary>
        internal static string? IntegerKey(string name)
        {
            bool unsigned = false, signed = false, isShort = false, isChar = false, isInt = false;
            int longs = 0;
            foreach (string word in name.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries))
            {
                switch (word)
                {
                    case "unsigned": unsigned = true; break;
                    case "signed": signed = true; break;
                    case "short": isShort = true; break;
                    case "long": longs++; break;
                    case "char": isChar = true; break;
                    case "int": isInt = true; break;
                    default: return null;
                }
            }
            if (unsigned && signed || longs > 2 || isChar && (isShort || longs > 0 || isInt) || isShort && longs > 0) return null;
            if (isChar) return unsigned ? "uchar" : signed ? "schar" : "char";
            if (!isInt && !isShort && longs == 0 && !unsigned && !signed) return null;
            return (unsigned ? "u" : "s") + (isShort ? ",h" : longs > 0 ? ",l" + longs : string.Empty);
        }

        /// <summary>The INT types of this blob by <see cref="IntegerKey"/> (the first of each). Built on first use.</summary>
        private Dictionary<string, int> IntegerIndex
        {
            get
            {
                lock (_indexLock)
                {
                    if (_integerIndex != null) return _integerIndex;
                }
                var index = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (KeyValuePair<string, int[]> entry in NameIndex)
                {
                    if (IntegerKey(entry.Key) is not string key) continue;
                    foreach (int id in entry.Value)
                    {
                        if (KindOf(id) != KindInt) continue;
                        if (!index.TryGetValue(key, out int seen) || id < seen) index[key] = id;
                        break;
                    }
                }
                lock (_indexLock) return _integerIndex ??= index;
            }
        }

        /// <summary>The first id in this blob (not the base) of a type of BTF kind <paramref name="kind"/> called <paramref name="name"/>, or 0.</summary>
        private int FindId(string name, int kind, bool? fwdUnion)
        {
            if (!NameIndex.TryGetValue(name, out int[]? ids)) return 0;
            foreach (int id in ids)
            {
                int pos = _offsets[id - _firstId];
                uint info = U32(_data, pos + 4);
                if (((info >> 24) & 0x1f) != kind) continue;
                if (kind == KindFwd && fwdUnion.HasValue && ((info >> 31) != 0) != fwdUnion.Value) continue;
                return id;
            }
            return 0;
        }

        private KernelType PointerTo(KernelType target)
        {
            if (target.Id >= 0)
            {
                for (BtfTypeGraph? g = this; g != null; g = g._base)
                {
                    if (g.PointerIndex.TryGetValue(target.Id, out int id)) return g[id];
                }
            }
            return new PointerType(this, target);
        }

        /// <summary>Every named type of this blob (not the base): name → ids in id order. Built on first use.</summary>
        private Dictionary<string, int[]> NameIndex
        {
            get
            {
                lock (_indexLock)
                {
                    if (_nameIndex != null) return _nameIndex;
                    var index = new Dictionary<string, int[]>(StringComparer.Ordinal);
                    for (int i = 0; i < _offsets.Length; i++)
                    {
                        uint nameOff = U32(_data, _offsets[i]);
                        if (nameOff == 0) continue;
                        string name = GetString(nameOff);
                        int id = _firstId + i;
                        if (index.TryGetValue(name, out int[]? ids))
                        {
                            Array.Resize(ref ids, ids.Length + 1);
                            ids[ids.Length - 1] = id;
                            index[name] = ids;
                        }
                        else
                        {
                            index.Add(name, new[] { id });
                        }
                    }
                    return _nameIndex = index;
                }
            }
        }

        /// <summary>Pointer types of this blob: target id → the first PTR to it. Built on first use.</summary>
        private Dictionary<int, int> PointerIndex
        {
            get
            {
                lock (_indexLock)
                {
                    if (_pointerIndex != null) return _pointerIndex;
                    var index = new Dictionary<int, int>();
                    for (int i = 0; i < _offsets.Length; i++)
                    {
                        int pos = _offsets[i];
                        if (((U32(_data, pos + 4) >> 24) & 0x1f) != KindPtr) continue;
                        int target = (int)U32(_data, pos + 8);
                        if (!index.ContainsKey(target)) index.Add(target, _firstId + i);
                    }
                    return _pointerIndex = index;
                }
            }
        }

        /// <summary>The struct or union called <paramref name="name"/> ("task_struct" or "struct task_struct"), or null.</summary>
        public StructType? FindStruct(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            string text = name.Trim();
            if (!text.StartsWith("struct ", StringComparison.Ordinal) && !text.StartsWith("union ", StringComparison.Ordinal))
            {
                return FindNamedOfKind(text, KindStruct) as StructType ?? FindNamedOfKind(text, KindUnion) as StructType;
            }
            return FindType(text) as StructType;
        }

        /// <summary>The BTF_KIND_VAR called <paramref name="name"/> (vmlinux has VARs for per-CPU variables only), or null.</summary>
        public VariableType? FindVariable(string name) => FindNamedOfKind(name ?? throw new ArgumentNullException(nameof(name)), KindVar) as VariableType;

        /// <summary>The BTF_KIND_FUNC called <paramref name="name"/>, or null.</summary>
        public FunctionType? FindFunction(string name) => FindNamedOfKind(name ?? throw new ArgumentNullException(nameof(name)), KindFunc) as FunctionType;

        private KernelType? FindNamedOfKind(string name, int kind)
        {
            for (BtfTypeGraph? g = this; g != null; g = g._base)
            {
                int id = g.FindId(name, kind, null);
                if (id > 0) return g[id];
            }
            return null;
        }

        /// <summary>The names of named structs, unions, enums, typedefs, ints and floats (each once, sorted ordinally), for completion.</summary>
        public IEnumerable<string> TypeNames
        {
            get
            {
                var names = new SortedSet<string>(StringComparer.Ordinal);
                for (BtfTypeGraph? g = this; g != null; g = g._base)
                {
                    foreach (KeyValuePair<string, int[]> entry in g.NameIndex)
                    {
                        foreach (int id in entry.Value)
                        {
                            int kind = g.KindOf(id);
                            if (kind is KindStruct or KindUnion or KindEnum or KindEnum64 or KindTypedef or KindInt or KindFloat)
                            {
                                names.Add(entry.Key);
                                break;
                            }
                        }
                    }
                }
                return names;
            }
        }

        private KernelType Create(int id, int pos)
        {
            string name = GetString(U32(_data, pos));
            uint info = U32(_data, pos + 4);
            int kind = (int)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            bool flag = (info >> 31) != 0;
            uint sizeOrType = U32(_data, pos + 8);
            int extra = pos + 12;
            switch (kind)
            {
                case KindInt:
                {
                    uint enc = U32(_data, extra);
                    return new IntType(this, id, name, sizeOrType, (enc >> 24) & 0x0f, (enc >> 16) & 0xff, enc & 0xff);
                }
                case KindPtr: return new PointerType(this, id, (int)sizeOrType);
                case KindArray: return new ArrayType(this, id, (int)U32(_data, extra), (int)U32(_data, extra + 4), U32(_data, extra + 8));
                case KindStruct: return new StructType(this, id, false, name, sizeOrType, extra, vlen, flag);
                case KindUnion: return new StructType(this, id, true, name, sizeOrType, extra, vlen, flag);
                case KindEnum: return new EnumType(this, id, name, sizeOrType, extra, vlen, false, flag);
                case KindEnum64: return new EnumType(this, id, name, sizeOrType, extra, vlen, true, flag);
                case KindFwd: return new ForwardType(this, id, name, flag);
                case KindTypedef: return new TypedefType(this, id, name, (int)sizeOrType);
                case KindVolatile: return new ModifierType(this, id, KernelTypeKind.Volatile, name, (int)sizeOrType);
                case KindConst: return new ModifierType(this, id, KernelTypeKind.Const, name, (int)sizeOrType);
                case KindRestrict: return new ModifierType(this, id, KernelTypeKind.Restrict, name, (int)sizeOrType);
                case KindTypeTag: return new ModifierType(this, id, KernelTypeKind.TypeTag, name, (int)sizeOrType);
                case KindFunc: return new FunctionType(this, id, name, (int)sizeOrType, (uint)vlen);
                case KindFuncProto:
                {
                    bool variadic = vlen > 0 && U32(_data, extra + 8 * (vlen - 1)) == 0 && U32(_data, extra + 8 * (vlen - 1) + 4) == 0;
                    return new FunctionProtoType(this, id, (int)sizeOrType, extra, vlen, variadic);
                }
                case KindVar: return new VariableType(this, id, name, (int)sizeOrType, U32(_data, extra));
                case KindDatasec: return new DataSectionType(this, id, name, sizeOrType, extra, vlen);
                case KindFloat: return new FloatType(this, id, name, sizeOrType);
                case KindDeclTag: return new DeclTagType(this, id, name, (int)sizeOrType, (int)U32(_data, extra));
                default: throw new BtfFormatException(pos + 4, "type " + id + ": unknown kind " + kind); // Parse rejected these
            }
        }

        internal StructMember[] ReadMembers(int pos, int count, bool bitFieldOffsets)
        {
            var members = new StructMember[count];
            for (int i = 0; i < count; i++, pos += 12)
            {
                string name = GetString(U32(_data, pos));
                KernelType type = this[(int)U32(_data, pos + 4)];
                uint offset = U32(_data, pos + 8);
                ulong bitOffset;
                uint bitSize;
                if (bitFieldOffsets)
                {
                    bitOffset = offset & 0xffffff;
                    bitSize = offset >> 24;
                }
                else
                {
                    bitOffset = offset;
                    bitSize = 0;
                    // Without kind_flag a bit field is an INT whose own bits/offset say so (btf.rst, BTF_KIND_STRUCT).
                    if (type.Resolve() is IntType it && (it.Bits != it.Size * 8 || it.BitOffset != 0))
                    {
                        bitOffset += it.BitOffset;
                        bitSize = it.Bits;
                    }
                }
                members[i] = new StructMember(name, type, bitOffset, bitSize);
            }
            return members;
        }

        internal EnumValue[] ReadEnumValues(int pos, int count, bool is64, bool isSigned)
        {
            var values = new EnumValue[count];
            for (int i = 0; i < count; i++)
            {
                string name = GetString(U32(_data, pos));
                uint lo = U32(_data, pos + 4);
                long value;
                if (is64)
                {
                    value = unchecked((long)(((ulong)U32(_data, pos + 8) << 32) | lo));
                    pos += 12;
                }
                else
                {
                    value = isSigned ? unchecked((int)lo) : (long)lo;
                    pos += 8;
                }
                values[i] = new EnumValue(name, value);
            }
            return values;
        }

        internal FunctionParameter[] ReadParameters(int pos, int count)
        {
            var parameters = new FunctionParameter[count];
            for (int i = 0; i < count; i++, pos += 8)
            {
                parameters[i] = new FunctionParameter(GetString(U32(_data, pos)), this[(int)U32(_data, pos + 4)]);
            }
            return parameters;
        }

        internal DataSectionEntry[] ReadDataSectionEntries(int pos, int count)
        {
            var entries = new DataSectionEntry[count];
            for (int i = 0; i < count; i++, pos += 12)
            {
                entries[i] = new DataSectionEntry((VariableType)this[(int)U32(_data, pos)], U32(_data, pos + 4), U32(_data, pos + 8));
            }
            return entries;
        }
    }
}
