namespace KgdbOe.Types
{
    /// <summary>
    /// What a <see cref="KernelType"/> is. Mirrors the BTF kinds (include/uapi/linux/btf.h, BTF_KIND_*),
    /// with ENUM and ENUM64 folded into <see cref="Enum"/> and id 0 given its own kind <see cref="Void"/>.
    /// </summary>
    public enum KernelTypeKind
    {
        /// <summary>Type id 0: "void".</summary>
        Void,
        /// <summary>BTF_KIND_INT: integers, char and _Bool.</summary>
        Int,
        /// <summary>BTF_KIND_FLOAT.</summary>
        Float,
        /// <summary>BTF_KIND_PTR.</summary>
        Pointer,
        /// <summary>BTF_KIND_ARRAY.</summary>
        Array,
        /// <summary>BTF_KIND_STRUCT.</summary>
        Struct,
        /// <summary>BTF_KIND_UNION.</summary>
        Union,
        /// <summary>BTF_KIND_ENUM and BTF_KIND_ENUM64.</summary>
        Enum,
        /// <summary>BTF_KIND_FWD: a struct or union declared but not defined.</summary>
        Forward,
        /// <summary>BTF_KIND_TYPEDEF.</summary>
        Typedef,
        /// <summary>BTF_KIND_VOLATILE.</summary>
        Volatile,
        /// <summary>BTF_KIND_CONST.</summary>
        Const,
        /// <summary>BTF_KIND_RESTRICT.</summary>
        Restrict,
        /// <summary>BTF_KIND_FUNC: a named function.</summary>
        Function,
        /// <summary>BTF_KIND_FUNC_PROTO: a function's signature.</summary>
        FunctionProto,
        /// <summary>BTF_KIND_VAR: a variable (vmlinux has per-CPU variables only).</summary>
        Variable,
        /// <summary>BTF_KIND_DATASEC: a section of variables.</summary>
        DataSection,
        /// <summary>BTF_KIND_DECL_TAG: an attribute on a declaration.</summary>
        DeclTag,
        /// <summary>BTF_KIND_TYPE_TAG: an attribute on a pointee type (e.g. "user", "rcu").</summary>
        TypeTag,
    }
}
