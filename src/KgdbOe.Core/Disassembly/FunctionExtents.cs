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
