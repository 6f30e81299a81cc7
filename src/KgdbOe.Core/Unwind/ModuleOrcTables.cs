using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Kernel;
using KgdbOe.Types;

namespace KgdbOe.Unwind
{
    /// <summary>
    /// The ORC tables of the loaded modules, read from each struct module's arch.orc_unwind_ip,
    /// arch.orc_unwind and arch.num_orcs (struct mod_arch_specific, arch/x86/include/asm/module.h;
    /// filled and sorted by unwind_module_init() in arch/x86/kernel/unwind_orc.c, the ips still relative
    /// to their own address). A table covers its module's core text: mem[MOD_TEXT] in 6.4+,
    /// core_layout's text_size bytes in 6.1. The module list is walked once, on the first ip outside
    /// vmlinux; an instance belongs to one stop.
    /// </summary>
    public sealed class ModuleOrcTables
    {
        private readonly KernelContext _context;
        private readonly ITargetMemory _memory;
        private readonly OrcLayout _layout;
        private readonly int _pageSize;
        private List<OrcTable>? _tables;

        /// <param name="context">Types (BTF) and memory of the kernel.</param>
        /// <param name="memory">The same memory, as the unwinder reads it.</param>
        /// <param name="layout">How this kernel packs struct orc_entry (the vmlinux table's).</param>
        /// <param name="pageSize">Bytes per table read.</param>
        public ModuleOrcTables(KernelContext context, ITargetMemory memory, OrcLayout layout, int pageSize)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _memory = memory ?? throw new ArgumentNullException(nameof(memory));
            _layout = layout;
            _pageSize = pageSize;
        }

        /// <summary>The table of the module whose core text holds <paramref name="ip"/>, or null.</summary>
        public async Task<OrcTable?> FindAsync(ulong ip, CancellationToken ct)
        {
            _tables ??= await ReadAsync(ct).ConfigureAwait(false);
            foreach (OrcTable table in _tables)
                if (table.Covers(ip)) return table;
            return null;
        }

        private async Task<List<OrcTable>> ReadAsync(CancellationToken ct)
        {
            var tables = new List<OrcTable>();
            StructType module = _context.FindStruct("struct module");
            if (_context.GetLayout(module).Find("arch") == null) return tables;
            bool hasMem = _context.GetLayout(module).Find("mem") != null;
            KernelListWalker walker = KernelListWalker.ForList(_context, _context.GetSymbolAddress("modules"), module, "list");
            for (KernelObject? m = await walker.NextAsync(ct).ConfigureAwait(false); m != null; m = await walker.NextAsync(ct).ConfigureAwait(false))
            {
                if (!m.HasMember("arch")) continue;
                long count = (long)m.GetUInt64("arch.num_orcs");
                if (count <= 0) continue;
                ulong start = hasMem ? m.GetUInt64("mem[0].base") : m.GetUInt64("core_layout.base");
                ulong size = hasMem ? m.GetUInt64("mem[0].size") : m.GetUInt64("core_layout.text_size");
                tables.Add(new OrcTable(_memory, m.GetUInt64("arch.orc_unwind_ip"), m.GetUInt64("arch.orc_unwind"), count, _layout,
                    0, 0, (start, start + size), (0, 0), _pageSize));
            }
            return tables;
        }
    }
}
