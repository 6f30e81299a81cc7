using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Symbols;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>One symbol of a loaded module: run-time address, size from its ELF symbol (0 when unknown).</summary>
    public sealed class ModuleSymbol
    {
        internal ModuleSymbol(string name, ulong address, ulong size, bool isFunction, bool isGlobal, string module)
        {
            Name = name;
            Address = address;
            Size = size;
            IsFunction = isFunction;
            IsGlobal = isGlobal;
            Module = module;
        }

        public string Name { get; }
        public ulong Address { get; }
        public ulong Size { get; }
        public bool IsFunction { get; }
        public bool IsGlobal { get; }
        public string Module { get; }
    }

    /// <summary>The symbols of one loaded module, sorted by address.</summary>
    public sealed class LoadedModuleSymbols
    {
        private readonly ModuleSymbol[] _byAddress;
        private readonly Dictionary<string, ModuleSymbol> _byName;

        internal LoadedModuleSymbols(string module, ulong moduleAddress, IEnumerable<ModuleSymbol> symbols)
        {
            Module = module;
            ModuleAddress = moduleAddress;
            _byAddress = symbols.OrderBy(s => s.Address).ThenBy(s => s.IsFunction ? 0 : 1).ToArray();
            _byName = new Dictionary<string, ModuleSymbol>(StringComparer.Ordinal);
            foreach (ModuleSymbol s in _byAddress)
                if (!_byName.TryGetValue(s.Name, out ModuleSymbol? old) || (s.IsGlobal && !old.IsGlobal)) _byName[s.Name] = s;
        }

        /// <summary>module->name.</summary>
        public string Module { get; }

        /// <summary>The address of its struct module.</summary>
        public ulong ModuleAddress { get; }

        public IReadOnlyList<ModuleSymbol> Symbols => _byAddress;

        public bool TryGet(string name, out ModuleSymbol symbol) => _byName.TryGetValue(name, out symbol!);

        // Where names share an address: a function before data, and a name of its own before the aliases that
        // module_init()/module_exit() make (init_module, cleanup_module; include/linux/module.h).
        private static int Rank(ModuleSymbol s) =>
            (s.IsFunction ? 0 : 2) + (s.Name == "init_module" || s.Name == "cleanup_module" ? 1 : 0);

        /// <summary>The symbol whose extent (address, size) holds <paramref name="address"/>; a sizeless one only at its own address.</summary>
        public ModuleSymbol? Find(ulong address)
        {
            ModuleSymbol? best = null;
            foreach (ModuleSymbol s in _byAddress)
            {
                if (s.Address > address) break;
                if (address < s.Address + Math.Max(s.Size, 1) && (best == null || s.Address > best.Address || (s.Address == best.Address && Rank(s) < Rank(best)))) best = s;
            }
            return best;
        }
    }

    /// <summary>
    /// Every loaded module's symbols, as the kernel keeps them for kallsyms: struct module's <c>kallsyms</c>
    /// (struct mod_kallsyms: symtab, num_symtab, strtab; kernel/module/kallsyms.c). While a module is COMING
    /// (in do_init_module) that is the full table, init symbols included; once LIVE, the core copy.
    /// Immutable: read a new one when the module list changed.
    /// </summary>
    public sealed class ModuleSymbolTable
    {
        /// <summary>Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.</summary>
        private const int ElfSymSize = 24;
        private const int SttFunc = 2, SttSection = 3, SttFile = 4;
        private const int MaxSymbols = 1 << 20;

        private readonly LoadedModuleSymbols[] _modules;

        public ModuleSymbolTable(IEnumerable<LoadedModuleSymbols> modules)
        {
            _modules = (modules ?? throw new ArgumentNullException(nameof(modules))).ToArray();
        }

        /// <summary>No modules.</summary>
        public static ModuleSymbolTable Empty { get; } = new ModuleSymbolTable(Array.Empty<LoadedModuleSymbols>());

        public IReadOnlyList<LoadedModuleSymbols> Modules => _modules;

        /// <summary>The module by name, or null when it is not loaded.</summary>
        public LoadedModuleSymbols? FindModule(string module) => _modules.FirstOrDefault(m => m.Module == module);

        /// <summary>A symbol by name, in <paramref name="module"/> only when given, else the first module that has it.</summary>
        public bool TryGetSymbol(string name, string? module, out ModuleSymbol symbol)
        {
            foreach (LoadedModuleSymbols m in _modules)
                if ((module == null || m.Module == module) && m.TryGet(name, out symbol)) return true;
            symbol = null!;
            return false;
        }

        /// <summary>"name+0x1f" with its module, or null when no module symbol holds the address.</summary>
        public SymbolLocation? Lookup(ulong address)
        {
            foreach (LoadedModuleSymbols m in _modules)
                if (m.Find(address) is ModuleSymbol s) return new SymbolLocation(s.Name, s.Address, address - s.Address, s.Module, s.Size);
            return null;
        }

        /// <summary>Reads the symbols of every module on the <c>modules</c> list (a module without kallsyms is left out).</summary>
        public static async Task<ModuleSymbolTable> ReadAsync(KernelContext context, CancellationToken ct)
        {
            if (context == null) throw new ArgumentNullException(nameof(context));
            StructType module = context.FindStruct("struct module");
            var all = new List<LoadedModuleSymbols>();
            KernelListWalker walker = KernelListWalker.ForList(context, context.GetSymbolAddress("modules"), module, "list");
            for (KernelObject? m = await walker.NextAsync(ct).ConfigureAwait(false); m != null; m = await walker.NextAsync(ct).ConfigureAwait(false))
                if (await ReadModuleAsync(context, m, ct).ConfigureAwait(false) is LoadedModuleSymbols s) all.Add(s);
            return new ModuleSymbolTable(all);
        }

        /// <summary>The name of the struct module at <paramref name="moduleAddress"/> (one read of the struct).</summary>
        public static async Task<KernelObject> ReadModuleObjectAsync(KernelContext context, ulong moduleAddress, CancellationToken ct) =>
            await context.ReadObjectAsync(moduleAddress, context.FindStruct("struct module"), ct).ConfigureAwait(false);

        /// <summary>One module's symbols from its struct module; null when it has no kallsyms (CONFIG_KALLSYMS off).</summary>
        public static async Task<LoadedModuleSymbols?> ReadModuleAsync(KernelContext context, KernelObject module, CancellationToken ct)
        {
            if (context == null) throw new ArgumentNullException(nameof(context));
            if (module == null) throw new ArgumentNullException(nameof(module));
            if (!module.HasMember("kallsyms")) return null;
            string name = module.GetString("name");
            ulong kallsyms = module.GetUInt64("kallsyms");
            if (kallsyms == 0) return new LoadedModuleSymbols(name, module.Address, Array.Empty<ModuleSymbol>());
            KernelObject k = await context.ReadObjectAsync(kallsyms, context.FindStruct("struct mod_kallsyms"), ct).ConfigureAwait(false);
            ulong symtab = k.GetUInt64("symtab");
            long count = (long)k.GetUInt64("num_symtab");
            ulong strtab = k.GetUInt64("strtab");
            if (count <= 0 || symtab == 0 || strtab == 0) return new LoadedModuleSymbols(name, module.Address, Array.Empty<ModuleSymbol>());
            if (count > MaxSymbols) throw new KernelLayoutException($"Module {name} claims {count} symbols: its struct mod_kallsyms at 0x{kallsyms:x} is not believable.", "struct mod_kallsyms");
            byte[] syms = await context.ReadBytesAsync(symtab, (int)count * ElfSymSize, $"{name}'s symbol table", ct).ConfigureAwait(false);
            uint maxName = 0;
            for (int i = 0; i < count; i++) maxName = Math.Max(maxName, BinaryPrimitives.ReadUInt32LittleEndian(syms.AsSpan(i * ElfSymSize)));
            // The string table's size is not kept; read past the last name's start by enough for any symbol name.
            byte[] strings = await context.ReadBytesAsync(strtab, checked((int)maxName + 512), $"{name}'s string table", ct).ConfigureAwait(false);
            var symbols = new List<ModuleSymbol>();
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> e = syms.AsSpan(i * ElfSymSize, ElfSymSize);
                uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
                int type = e[4] & 0xf, binding = e[4] >> 4;
                ushort section = BinaryPrimitives.ReadUInt16LittleEndian(e.Slice(6));
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(8));
                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(16));
                if (nameOffset == 0 || section == 0 || value < KernelContext.KernelHalf || type == SttSection || type == SttFile) continue;
                int end = Array.IndexOf(strings, (byte)0, (int)nameOffset);
                if (end < 0) continue;
                string symbolName = Encoding.ASCII.GetString(strings, (int)nameOffset, end - (int)nameOffset);
                if (symbolName.Length == 0 || symbolName.StartsWith("__UNIQUE_ID", StringComparison.Ordinal)) continue;
                symbols.Add(new ModuleSymbol(symbolName, value, size, type == SttFunc, binding != 0, name));
            }
            return new LoadedModuleSymbols(name, module.Address, symbols);
        }
    }
}
