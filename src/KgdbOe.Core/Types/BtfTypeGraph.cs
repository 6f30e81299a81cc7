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

        private readonly object _indexLock = new object(); // guards the building of _nameIndex and _pointerIndex
        private Dictionary<string, int[]>? _nameIndex;
        private Dictionary<int, int>? _pointerIndex;

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

        /// <summary>Reads BTF. <paramref name="baseGraph"/> is vmlinux's graph for a module's split BTF. Throws <see cref="BtfFormatException"/>.</summary>
        public static BtfTypeGraph Parse(byte[] data, BtfTypeGraph? baseGraph = null)
        {
            if (data == null) throw new ArgumentNullException(nameof(data));
            throw new NotImplementedException();
        }

        /// <summary>
        /// The type named <paramref name="name"/>: a bare name ("task_struct": struct, then union, enum, typedef, int,
        /// float, forward), "struct x", "union x", "enum x", a name with spaces ("unsigned long"), or any of these followed by
        /// stars ("char *"). Null when there is none.
        /// </summary>
        public KernelType? FindType(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            lock (_indexLock) { _nameIndex ??= new Dictionary<string, int[]>(); _pointerIndex ??= new Dictionary<int, int>(); }
            return null;
        }

        /// <summary>The struct or union called <paramref name="name"/> ("task_struct" or "struct task_struct"), or null.</summary>
        public StructType? FindStruct(string name) => FindType(name) as StructType;

        /// <summary>The BTF_KIND_VAR called <paramref name="name"/> (vmlinux has VARs for per-CPU variables only), or null.</summary>
        public VariableType? FindVariable(string name) => null;

        /// <summary>The BTF_KIND_FUNC called <paramref name="name"/>, or null.</summary>
        public FunctionType? FindFunction(string name) => null;

        /// <summary>The names of named structs, unions, enums, typedefs, ints and floats (each once, sorted), for completion.</summary>
        public IEnumerable<string> TypeNames => Array.Empty<string>();

        private KernelType Create(int id, int offset) => throw new NotImplementedException();

        internal StructMember[] ReadMembers(int offset, int count, bool bitFieldOffsets) => throw new NotImplementedException();

        internal EnumValue[] ReadEnumValues(int offset, int count, bool is64, bool isSigned) => throw new NotImplementedException();

        internal FunctionParameter[] ReadParameters(int offset, int count) => throw new NotImplementedException();

        internal DataSectionEntry[] ReadDataSectionEntries(int offset, int count) => throw new NotImplementedException();
    }
}
