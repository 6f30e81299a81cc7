using System;
using System.Text;

namespace KgdbOe.Types
{
    /// <summary>
    /// One type of the kernel's type graph (a BTF type, include/uapi/linux/btf.h). Types refer to each other by id
    /// through their <see cref="BtfTypeGraph"/>; the objects are made on first use and shared. Immutable, thread-safe.
    /// </summary>
    public abstract class KernelType
    {
        /// <summary>How deep a chain of typedefs, modifiers, pointers and arrays may go; the graph rejects deeper ones.</summary>
        internal const int MaxChainDepth = 256;

        /// <summary>Past this many characters a prototype's parameter list is cut short (only corrupt BTF gets there).</summary>
        internal const int MaxDisplayLength = 4096;

        private string? _displayName;

        private protected KernelType(BtfTypeGraph? graph, int id, KernelTypeKind kind, string name)
        {
            Graph = graph;
            Id = id;
            Kind = kind;
            Name = name;
        }

        /// <summary>The graph this type belongs to (null only for the shared void type).</summary>
        internal BtfTypeGraph? Graph { get; }

        /// <summary>The BTF type id: 0 is void; -1 for a pointer type the BTF lacks, made up by <see cref="BtfTypeGraph.FindType"/>.</summary>
        public int Id { get; }

        /// <summary>What this type is.</summary>
        public KernelTypeKind Kind { get; }

        /// <summary>The type's own name ("task_struct", "unsigned long", "u64"); "" when anonymous or a pointer/array/modifier.</summary>
        public string Name { get; }

        /// <summary>
        /// The size in bytes of an object of this type: pointers 8 (x86-64), arrays Length × element size, typedefs and
        /// modifiers their target's, functions, forwards and void 0.
        /// </summary>
        public virtual ulong Size => 0;

        /// <summary>The type with typedefs, const, volatile, restrict and type tags stripped (pointers are kept).</summary>
        public KernelType Resolve()
        {
            KernelType t = this;
            for (int i = 0; i <= MaxChainDepth; i++)
            {
                switch (t)
                {
                    case TypedefType td: t = td.Target; break;
                    case ModifierType m: t = m.Target; break;
                    default: return t;
                }
            }
            throw new BtfFormatException("type " + Id + ": typedef/modifier chain deeper than " + MaxChainDepth);
        }

        /// <summary>The C spelling of the type: "struct task_struct", "unsigned long", "char *", "int [16]", "void (*)(int)".</summary>
        public string DisplayName => _displayName ??= Declare(string.Empty);

        /// <summary>The C declaration of a name with this type: "comm" with "char [16]" gives "char comm[16]"; "" gives <see cref="DisplayName"/>.</summary>
        public string Declare(string declarator)
        {
            var sb = new StringBuilder();
            Format(sb, declarator, 0);
            return sb.ToString();
        }

        /// <summary>Appends this type's C declaration around <paramref name="declarator"/> (the part that is "inside" it).</summary>
        internal virtual void Format(StringBuilder sb, string declarator, int depth)
        {
            sb.Append(BaseName);
            if (declarator.Length > 0) sb.Append(' ').Append(declarator);
        }

        /// <summary>The name as used in a declaration: "struct x", "struct {...}", "u64".</summary>
        internal virtual string BaseName => Name.Length > 0 ? Name : "(anon)";

        internal static void CheckDepth(int depth, int id)
        {
            if (depth > MaxChainDepth) throw new BtfFormatException("type " + id + ": type chain deeper than " + MaxChainDepth);
        }

        public override string ToString() => DisplayName;
    }

    /// <summary>Type id 0.</summary>
    public sealed class VoidType : KernelType
    {
        internal static readonly VoidType Instance = new VoidType();

        private VoidType() : base(null, 0, KernelTypeKind.Void, "void") { }
    }

    /// <summary>BTF_KIND_INT: an integer, char or _Bool of <see cref="KernelType.Size"/> bytes.</summary>
    public sealed class IntType : KernelType
    {
        private readonly uint _size;

        internal IntType(BtfTypeGraph graph, int id, string name, uint size, uint encoding, uint bitOffset, uint bits)
            : base(graph, id, KernelTypeKind.Int, name)
        {
            _size = size;
            IsSigned = (encoding & 1) != 0;
            IsChar = (encoding & 2) != 0;
            IsBool = (encoding & 4) != 0;
            BitOffset = bitOffset;
            Bits = bits;
        }

        /// <inheritdoc/>
        public override ulong Size => _size;

        /// <summary>BTF_INT_SIGNED.</summary>
        public bool IsSigned { get; }

        /// <summary>BTF_INT_CHAR (only for pretty printing).</summary>
        public bool IsChar { get; }

        /// <summary>BTF_INT_BOOL.</summary>
        public bool IsBool { get; }

        /// <summary>BTF_INT_OFFSET: where the value starts in the storage, in bits (0 in the kernel's BTF).</summary>
        public uint BitOffset { get; }

        /// <summary>BTF_INT_BITS: how many bits hold the value.</summary>
        public uint Bits { get; }
    }

    /// <summary>BTF_KIND_FLOAT.</summary>
    public sealed class FloatType : KernelType
    {
        private readonly uint _size;

        internal FloatType(BtfTypeGraph graph, int id, string name, uint size) : base(graph, id, KernelTypeKind.Float, name) => _size = size;

        /// <inheritdoc/>
        public override ulong Size => _size;
    }

    /// <summary>BTF_KIND_PTR: 8 bytes on x86-64.</summary>
    public sealed class PointerType : KernelType
    {
        private readonly int _targetId;
        private readonly KernelType? _target;

        internal PointerType(BtfTypeGraph graph, int id, int targetId) : base(graph, id, KernelTypeKind.Pointer, string.Empty) => _targetId = targetId;

        /// <summary>A pointer type the BTF lacks (id -1), made up by <see cref="BtfTypeGraph.FindType"/>.</summary>
        internal PointerType(BtfTypeGraph graph, KernelType target) : base(graph, -1, KernelTypeKind.Pointer, string.Empty) => _target = target;

        /// <summary>The pointed-to type (void for "void *").</summary>
        public KernelType Target => _target ?? Graph![_targetId];

        /// <inheritdoc/>
        public override ulong Size => 8;

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            KernelType target = Target;
            KernelType shape = target;
            while (shape is ModifierType { Kind: KernelTypeKind.TypeTag } tag) shape = tag.Target;
            bool parenthesize = shape is ArrayType || shape is FunctionProtoType;
            string inner = parenthesize ? "(*" + declarator + ")" : "*" + declarator;
            target.Format(sb, inner, depth + 1);
        }
    }

    /// <summary>BTF_KIND_ARRAY: <see cref="Length"/> elements (0 for a flexible array member).</summary>
    public sealed class ArrayType : KernelType
    {
        private readonly int _elementId;
        private readonly int _indexId;

        internal ArrayType(BtfTypeGraph graph, int id, int elementId, int indexId, uint length)
            : base(graph, id, KernelTypeKind.Array, string.Empty)
        {
            _elementId = elementId;
            _indexId = indexId;
            Length = length;
        }

        /// <summary>The element type.</summary>
        public KernelType Element => Graph![_elementId];

        /// <summary>The index type (an int type in the kernel's BTF).</summary>
        public KernelType IndexType => Graph![_indexId];

        /// <summary>The number of elements.</summary>
        public uint Length { get; }

        /// <inheritdoc/>
        public override ulong Size => unchecked(Length * Element.Size);

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            Element.Format(sb, declarator + "[" + Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]", depth + 1);
        }
    }

    /// <summary>BTF_KIND_FWD: "struct x;" or "union x;" without a definition in this BTF.</summary>
    public sealed class ForwardType : KernelType
    {
        internal ForwardType(BtfTypeGraph graph, int id, string name, bool isUnion) : base(graph, id, KernelTypeKind.Forward, name) => IsUnion = isUnion;

        /// <summary>True for "union x;", false for "struct x;".</summary>
        public bool IsUnion { get; }

        internal override string BaseName => (IsUnion ? "union " : "struct ") + Name;
    }

    /// <summary>BTF_KIND_TYPEDEF.</summary>
    public sealed class TypedefType : KernelType
    {
        private readonly int _targetId;

        internal TypedefType(BtfTypeGraph graph, int id, string name, int targetId) : base(graph, id, KernelTypeKind.Typedef, name) => _targetId = targetId;

        /// <summary>The type this name stands for.</summary>
        public KernelType Target => Graph![_targetId];

        /// <inheritdoc/>
        public override ulong Size => Resolve().Size;
    }

    /// <summary>BTF_KIND_CONST, _VOLATILE, _RESTRICT and _TYPE_TAG (<see cref="KernelType.Kind"/> says which; a type tag's <see cref="KernelType.Name"/> is the tag).</summary>
    public sealed class ModifierType : KernelType
    {
        private readonly int _targetId;

        internal ModifierType(BtfTypeGraph graph, int id, KernelTypeKind kind, string name, int targetId) : base(graph, id, kind, name) => _targetId = targetId;

        /// <summary>The modified type.</summary>
        public KernelType Target => Graph![_targetId];

        /// <inheritdoc/>
        public override ulong Size => Resolve().Size;

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            string? word = Kind switch
            {
                KernelTypeKind.Const => "const",
                KernelTypeKind.Volatile => "volatile",
                KernelTypeKind.Restrict => "restrict",
                _ => null, // type tags are attributes, not part of the C spelling
            };
            KernelType target = Target;
            if (word == null)
            {
                target.Format(sb, declarator, depth + 1);
            }
            else if (target.Resolve() is PointerType && !(target is TypedefType))
            {
                // "char * const p": the qualifier goes after the star it qualifies.
                target.Format(sb, declarator.Length > 0 ? word + " " + declarator : word, depth + 1);
            }
            else
            {
                sb.Append(word).Append(' ');
                target.Format(sb, declarator, depth + 1);
            }
        }
    }

    /// <summary>BTF_KIND_FUNC: a function with its prototype.</summary>
    public sealed class FunctionType : KernelType
    {
        private readonly int _protoId;

        internal FunctionType(BtfTypeGraph graph, int id, string name, int protoId, uint linkage)
            : base(graph, id, KernelTypeKind.Function, name)
        {
            _protoId = protoId;
            Linkage = linkage;
        }

        /// <summary>The signature.</summary>
        public FunctionProtoType Prototype => (FunctionProtoType)Graph![_protoId];

        /// <summary>BTF_FUNC_STATIC 0, BTF_FUNC_GLOBAL 1, BTF_FUNC_EXTERN 2.</summary>
        public uint Linkage { get; }

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            Prototype.Format(sb, Name + declarator, depth + 1);
        }
    }

    /// <summary>One parameter of a <see cref="FunctionProtoType"/>.</summary>
    public sealed class FunctionParameter
    {
        internal FunctionParameter(string name, KernelType type)
        {
            Name = name;
            Type = type;
        }

        /// <summary>The parameter's name ("" when the BTF has none).</summary>
        public string Name { get; }

        /// <summary>The parameter's type.</summary>
        public KernelType Type { get; }

        public override string ToString() => Type.Declare(Name);
    }

    /// <summary>BTF_KIND_FUNC_PROTO: return type and parameters.</summary>
    public sealed class FunctionProtoType : KernelType
    {
        private readonly int _returnId;
        private readonly int _paramOffset;
        private readonly int _paramCount;
        private readonly bool _variadic;
        private FunctionParameter[]? _parameters;

        internal FunctionProtoType(BtfTypeGraph graph, int id, int returnId, int paramOffset, int paramCount, bool variadic)
            : base(graph, id, KernelTypeKind.FunctionProto, string.Empty)
        {
            _returnId = returnId;
            _paramOffset = paramOffset;
            _paramCount = paramCount;
            _variadic = variadic;
        }

        /// <summary>The return type (void for none).</summary>
        public KernelType ReturnType => Graph![_returnId];

        /// <summary>The named parameters (without the "..." of a variadic function).</summary>
        public System.Collections.Generic.IReadOnlyList<FunctionParameter> Parameters => _parameters ??= Graph!.ReadParameters(_paramOffset, _paramCount - (_variadic ? 1 : 0));

        /// <summary>True when the last BTF parameter is the "..." marker (name 0, type 0).</summary>
        public bool IsVariadic => _variadic;

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            var args = new StringBuilder();
            args.Append(declarator).Append('(');
            var parameters = Parameters;
            for (int i = 0; i < parameters.Count; i++)
            {
                if (i > 0) args.Append(", ");
                if (args.Length > MaxDisplayLength)
                {
                    args.Append("/* ").Append(parameters.Count - i).Append(" more */");
                    break;
                }
                // DisplayName is kept per type, so a prototype used by many others is spelled out once.
                args.Append(parameters[i].Type.DisplayName);
            }
            if (IsVariadic) args.Append(parameters.Count > 0 ? ", ..." : "...");
            else if (parameters.Count == 0) args.Append("void");
            args.Append(')');
            ReturnType.Format(sb, args.ToString(), depth + 1);
        }
    }

    /// <summary>BTF_KIND_VAR: a variable (in vmlinux: the per-CPU variables).</summary>
    public sealed class VariableType : KernelType
    {
        private readonly int _typeId;

        internal VariableType(BtfTypeGraph graph, int id, string name, int typeId, uint linkage)
            : base(graph, id, KernelTypeKind.Variable, name)
        {
            _typeId = typeId;
            IsGlobal = linkage != 0;
        }

        /// <summary>The variable's type.</summary>
        public KernelType Type => Graph![_typeId];

        /// <summary>BTF_VAR_GLOBAL_ALLOCATED (or extern) rather than BTF_VAR_STATIC.</summary>
        public bool IsGlobal { get; }

        /// <inheritdoc/>
        public override ulong Size => Type.Size;

        internal override void Format(StringBuilder sb, string declarator, int depth)
        {
            CheckDepth(depth, Id);
            Type.Format(sb, declarator.Length > 0 ? Name + declarator : Name, depth + 1);
        }
    }

    /// <summary>One variable of a <see cref="DataSectionType"/>: where in the section it is.</summary>
    public sealed class DataSectionEntry
    {
        internal DataSectionEntry(VariableType variable, uint offset, uint size)
        {
            Variable = variable;
            Offset = offset;
            Size = size;
        }

        /// <summary>The variable.</summary>
        public VariableType Variable { get; }

        /// <summary>Byte offset in the section (for ".data..percpu": the per-CPU offset).</summary>
        public uint Offset { get; }

        /// <summary>Size in bytes.</summary>
        public uint Size { get; }
    }

    /// <summary>BTF_KIND_DATASEC: a section (".data..percpu") and the variables in it.</summary>
    public sealed class DataSectionType : KernelType
    {
        private readonly uint _size;
        private readonly int _entryOffset;
        private readonly int _entryCount;
        private DataSectionEntry[]? _entries;

        internal DataSectionType(BtfTypeGraph graph, int id, string name, uint size, int entryOffset, int entryCount)
            : base(graph, id, KernelTypeKind.DataSection, name)
        {
            _size = size;
            _entryOffset = entryOffset;
            _entryCount = entryCount;
        }

        /// <inheritdoc/>
        public override ulong Size => _size;

        /// <summary>The variables, in BTF order.</summary>
        public System.Collections.Generic.IReadOnlyList<DataSectionEntry> Entries => _entries ??= Graph!.ReadDataSectionEntries(_entryOffset, _entryCount);
    }

    /// <summary>BTF_KIND_DECL_TAG: an attribute (<see cref="KernelType.Name"/>) on a type, or on one of its members/parameters.</summary>
    public sealed class DeclTagType : KernelType
    {
        private readonly int _targetId;

        internal DeclTagType(BtfTypeGraph graph, int id, string name, int targetId, int componentIndex)
            : base(graph, id, KernelTypeKind.DeclTag, name)
        {
            _targetId = targetId;
            ComponentIndex = componentIndex;
        }

        /// <summary>The tagged type, function or variable.</summary>
        public KernelType Target => Graph![_targetId];

        /// <summary>-1 for the whole target, else the index of the member or parameter.</summary>
        public int ComponentIndex { get; }
    }
}
