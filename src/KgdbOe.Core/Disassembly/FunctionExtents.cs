using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using KgdbOe.Symbols;

namespace KgdbOe.Disassembly
{
    /// <summary>
    /// Where a function ends when the symbol table gives no sizes (System.map, kallsyms): at the next symbol's
    /// address, as objdump and the kernel's own kallsyms_lookup_size_offset() judge it. With 6.x's
    /// CONFIG_FUNCTION_PADDING the next symbol is the following function's __pfx_ label, so the padding stays out.
    /// </summary>
    public static class FunctionExtents
    {
        /// <summary>Symbols below this are per-CPU offsets or absolute values (as in <see cref="SymbolTable"/>).</summary>
        private const ulong KernelImageBase = 0xffffffff80000000UL;

        // Sorted distinct symbol addresses per (immutable) symbol table, built once; dies with the table.
        private static readonly ConditionalWeakTable<SymbolTable, ulong[]> Sorted = new ConditionalWeakTable<SymbolTable, ulong[]>();

        // Every name at each address per symbol table, built once on first use; dies with the table.
        private static readonly ConditionalWeakTable<SymbolTable, Dictionary<ulong, List<string>>> Aliases =
            new ConditionalWeakTable<SymbolTable, Dictionary<ulong, List<string>>>();

        /// <summary>
        /// The name to show for code at <paramref name="location"/>: a section marker that shares its address
        /// with a function (__sched_text_start and __schedule) gives way to the function, as objdump picks
        /// the function symbol. System.map has no symbol types, so markers are known by their shape:
        /// __*_text_start/_end, _stext, _etext, _sinittext, _einittext.
        /// </summary>
        public static SymbolLocation PreferFunctionName(SymbolTable symbols, SymbolLocation location)
        {
            if (symbols == null) throw new ArgumentNullException(nameof(symbols));
            if (location == null) throw new ArgumentNullException(nameof(location));
            if (!IsSectionMarker(location.Name)) return location;
            Dictionary<ulong, List<string>> aliases = Aliases.GetValue(symbols, BuildAliases);
            if (!aliases.TryGetValue(location.SymbolAddress, out List<string>? names)) return location;
            string? best = names.Where(n => !IsSectionMarker(n))
                .OrderBy(n => n.Length - n.TrimStart('_').Length).ThenBy(n => n, StringComparer.Ordinal).FirstOrDefault();
            return best == null ? location : new SymbolLocation(best, location.SymbolAddress, location.Offset);
        }

        private static bool IsSectionMarker(string name) =>
            (name.StartsWith("__", StringComparison.Ordinal) && (name.EndsWith("_text_start", StringComparison.Ordinal) || name.EndsWith("_text_end", StringComparison.Ordinal))) ||
            name == "_stext" || name == "_etext" || name == "_sinittext" || name == "_einittext" || name == "_text";

        private static Dictionary<ulong, List<string>> BuildAliases(SymbolTable symbols)
        {
            var map = new Dictionary<ulong, List<string>>();
            foreach (string name in symbols.Names)
            {
                if (!symbols.TryGetAddress(name, out ulong a) || a < KernelImageBase) continue;
                if (!map.TryGetValue(a, out List<string>? list)) map[a] = list = new List<string>();
                list.Add(name);
            }
            return map;
        }

        /// <summary>The first symbol address above <paramref name="address"/>, or null past the last symbol.</summary>
        public static ulong? NextSymbolAddress(SymbolTable symbols, ulong address)
        {
            if (symbols == null) throw new ArgumentNullException(nameof(symbols));
            ulong[] sorted = Sorted.GetValue(symbols, Build);
            int i = Array.BinarySearch(sorted, address);
            i = i < 0 ? ~i : i + 1;
            return i < sorted.Length ? sorted[i] : (ulong?)null;
        }

        private static ulong[] Build(SymbolTable symbols)
        {
            var set = new HashSet<ulong>();
            foreach (string name in symbols.Names)
                if (symbols.TryGetAddress(name, out ulong a) && a >= KernelImageBase) set.Add(a);
            return set.OrderBy(a => a).ToArray();
        }
    }
}
