namespace KgdbOe.PowerShell
{
    /// <summary>One argument of a function at its entry: named and typed from BTF, valued from its register (x86-64 SysV ABI).</summary>
    public sealed class KernelFunctionArgument
    {
        internal KernelFunctionArgument(int position, string name, string type, string register, ulong value)
        {
            Position = position;
            Name = name;
            Type = type;
            Register = register;
            Value = value;
        }

        /// <summary>0 for the first parameter.</summary>
        public int Position { get; }

        /// <summary>The parameter's name in the kernel's BTF ("" when it has none).</summary>
        public string Name { get; }

        /// <summary>Its C type, as BTF spells it ("struct file *").</summary>
        public string Type { get; }

        /// <summary>The register it arrives in: rdi, rsi, rdx, rcx, r8, r9.</summary>
        public string Register { get; }

        /// <summary>The register's value at the function's entry.</summary>
        public ulong Value { get; }

        public override string ToString() => $"{Name}=0x{Value:x}";
    }
}
