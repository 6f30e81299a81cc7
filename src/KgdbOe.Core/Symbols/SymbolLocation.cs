using System.Globalization;

namespace KgdbOe.Symbols
{
    /// <summary>An address expressed as symbol + offset, with the module that holds it (null: vmlinux).</summary>
    public sealed class SymbolLocation
    {
        public SymbolLocation(string name, ulong symbolAddress, ulong offset)
            : this(name, symbolAddress, offset, null, 0)
        {
        }

        /// <param name="module">The loaded module's name; null for the kernel image.</param>
        /// <param name="size">The symbol's size in bytes from its ELF symbol; 0 when unknown.</param>
        public SymbolLocation(string name, ulong symbolAddress, ulong offset, string? module, ulong size)
        {
            Name = name;
            SymbolAddress = symbolAddress;
            Offset = offset;
            Module = module;
            Size = size;
        }

        public string Name { get; }
        public ulong Offset { get; }
        public ulong SymbolAddress { get; }

        /// <summary>The module, as /proc/kallsyms names it in brackets; null for vmlinux.</summary>
        public string? Module { get; }

        /// <summary>The symbol's size (0: unknown, as System.map and kallsyms give none).</summary>
        public ulong Size { get; }

        /// <summary>The same symbol with another offset (a return address named by the call before it).</summary>
        public SymbolLocation WithOffset(ulong offset) => new SymbolLocation(Name, SymbolAddress, offset, Module, Size);

        /// <summary>"name+0x1f", and " [module]" for a module's symbol (the kernel's %pS).</summary>
        public override string ToString() =>
            (Offset == 0 ? Name : Name + "+0x" + Offset.ToString("x", CultureInfo.InvariantCulture)) + (Module == null ? "" : " [" + Module + "]");
    }
}
