using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace KgdbOe.Symbols
{
    /// <summary>
    /// Kernel symbols by name and by address, from System.map, /proc/kallsyms text or vmlinux.
    /// Immutable: WithSlide returns a new table with the kernel image's symbols moved (KASLR).
    /// </summary>
    public sealed class SymbolTable
    {
        /// <summary>Addresses below this are per-CPU offsets or absolute values: never slid, never looked up.</summary>
        private const ulong KernelImageBase = 0xffffffff80000000UL;

        private readonly Dictionary<string, ulong> _byName;
        private readonly ulong[] _addresses;
        private readonly string[] _names;
        private readonly bool[] _global;

        private SymbolTable(IEnumerable<(string Name, ulong Address, char Type)> symbols, long slide)
        {
            Slide = slide;
            _byName = new Dictionary<string, ulong>(StringComparer.Ordinal);
            var sorted = new List<(ulong, string, bool)>();
            foreach ((string name, ulong address, char type) in symbols)
            {
                if (name.Length == 0) continue;
                bool global = char.IsUpper(type);
                if (!_byName.ContainsKey(name) || global) _byName[name] = address;
                if (address >= KernelImageBase && "aAUwv".IndexOf(type) < 0) sorted.Add((address, name, global));
            }
            sorted.Sort((a, b) => a.Item1 != b.Item1 ? a.Item1.CompareTo(b.Item1) : string.CompareOrdinal(a.Item2, b.Item2));
            _addresses = sorted.Select(s => s.Item1).ToArray();
            _names = sorted.Select(s => s.Item2).ToArray();
            _global = sorted.Select(s => s.Item3).ToArray();
        }

        private SymbolTable(SymbolTable source, long slide)
        {
            Slide = source.Slide + slide;
            _byName = source._byName.ToDictionary(kv => kv.Key, kv => Move(kv.Value, slide), StringComparer.Ordinal);
            _addresses = source._addresses.Select(a => Move(a, slide)).ToArray();
            _names = source._names;
            _global = source._global;
        }

        private static ulong Move(ulong address, long slide) => address >= KernelImageBase ? unchecked(address + (ulong)slide) : address;

        /// <summary>How far these addresses are moved from the link-time ones.</summary>
        public long Slide { get; }

        public int Count => _byName.Count;

        public IEnumerable<string> Names => _byName.Keys;

        public static SymbolTable FromSystemMap(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            return Parse(File.ReadLines(path), path);
        }

        /// <summary>The text of /proc/kallsyms (module symbols keep their [module] suffix out of the name).</summary>
        public static SymbolTable FromKallsyms(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            return Parse(text.Split('\n'), "kallsyms text");
        }

        private static SymbolTable Parse(IEnumerable<string> lines, string source)
        {
            var symbols = new List<(string, ulong, char)>();
            int lineNumber = 0;
            foreach (string raw in lines)
            {
                lineNumber++;
                string line = raw.TrimEnd('\r');
                if (line.Trim().Length == 0) continue;
                string[] parts = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 3 || parts[1].Length != 1 ||
                    !ulong.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address))
                    throw new FormatException($"{source} line {lineNumber} is not 'address type name': '{(line.Length > 80 ? line.Substring(0, 80) : line)}'.");
                symbols.Add((parts[2], address, parts[1][0]));
            }
            if (symbols.Count == 0) throw new FormatException($"{source} holds no symbols.");
            return new SymbolTable(symbols, 0);
        }

        public static SymbolTable FromElf(string vmlinuxPath)
        {
            if (vmlinuxPath == null) throw new ArgumentNullException(nameof(vmlinuxPath));
            if (!ELFReader.TryLoad(vmlinuxPath, out IELF? elf) || elf == null)
                throw new FormatException($"'{vmlinuxPath}' is not an ELF file.");
            using (elf)
            {
                if (!(elf is ELF<ulong> elf64)) throw new FormatException($"'{vmlinuxPath}' is not a 64-bit ELF file.");
                var table = elf64.GetSections<SymbolTable<ulong>>().FirstOrDefault(s => s.Name == ".symtab");
                if (table == null) throw new FormatException($"'{vmlinuxPath}' has no .symtab (stripped?).");
                var symbols = new List<(string, ulong, char)>();
                foreach (SymbolEntry<ulong> e in table.Entries)
                {
                    if (e.Type == SymbolType.File || e.Type == SymbolType.Section || e.PointedSectionIndex == 0) continue;
                    bool global = e.Binding != SymbolBinding.Local;
                    char type = e.Type == SymbolType.Function ? 'T' : 'D';
                    if (e.PointedSectionIndex == (ushort)SpecialSectionIndex.Absolute) type = 'A';
                    symbols.Add((e.Name, e.Value, global ? type : char.ToLowerInvariant(type)));
                }
                return new SymbolTable(symbols, 0);
            }
        }

        public bool TryGetAddress(string name, out ulong address) => _byName.TryGetValue(name, out address);

        public ulong GetAddress(string name) =>
            _byName.TryGetValue(name, out ulong a) ? a : throw new KeyNotFoundException($"No symbol named '{name}'.");

        /// <summary>The nearest symbol at or below address, or null outside the kernel image's symbols.</summary>
        public SymbolLocation? Lookup(ulong address)
        {
            int i = Array.BinarySearch(_addresses, address);
            if (i < 0) i = ~i - 1;
            else while (i + 1 < _addresses.Length && _addresses[i + 1] == address) i++;
            if (i < 0) return null;
            // Past the last symbol (e.g. beyond _end) nothing is known.
            if (i == _addresses.Length - 1 && address - _addresses[i] > 0x100000) return null;
            // Several names may share an address (__do_sys_getppid and __x64_sys_getppid; a function and a
            // section marker like __cpuidle_text_start): prefer global, then fewer leading underscores.
            int best = i;
            for (int j = i; j >= 0 && _addresses[j] == _addresses[i]; j--)
                if (Rank(j) <= Rank(best)) best = j;
            return new SymbolLocation(_names[best], _addresses[best], address - _addresses[best]);
        }

        private int Rank(int index) => (_global[index] ? 0 : 100) + LeadingUnderscores(_names[index]);

        private static int LeadingUnderscores(string name)
        {
            int n = 0;
            while (n < name.Length && name[n] == '_') n++;
            return n;
        }

        public SymbolTable WithSlide(long slide) => slide == 0 ? this : new SymbolTable(this, slide);
    }
}
