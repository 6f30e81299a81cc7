using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Symbols;

namespace KgdbOe.Unwind
{
    /// <summary>
    /// vmlinux's ORC tables as the running kernel holds them, read from its memory on demand:
    /// __start_orc_unwind_ip..__stop_orc_unwind_ip (int32, each relative to its own address, sorted at
    /// build time), __start_orc_unwind (struct orc_entry, parallel to it) and orc_lookup (u32 per
    /// 256-byte block of _stext.._etext, the first entry index of the block, filled by unwind_init()).
    /// The lookup follows orc_find() of arch/x86/kernel/unwind_orc.c. Pages of the tables are cached, so
    /// an instance belongs to one kernel (one session); it is safe to share between threads.
    /// </summary>
    public sealed class OrcTable
    {
        /// <summary>LOOKUP_BLOCK_SIZE (orc_lookup.h): bytes of text per orc_lookup slot.</summary>
        private const ulong LookupBlockSize = 256;

        /// <summary>Table pages are read this many bytes at a time unless told otherwise: one orc_lookup block's
        /// entries (a few dozen) fit in one page, so a lookup costs about three small reads the first time.</summary>
        public const int DefaultPageSize = 512;

        private readonly BlockCache _pages;
        private readonly ulong _ipTable;
        private readonly ulong _entryTable;
        private readonly long _count;
        private readonly ulong _lookup;
        private readonly long _lookupBlocks;
        private readonly ulong _textStart;
        private readonly ulong _textEnd;
        private readonly ulong _initStart;
        private readonly ulong _initEnd;

        /// <param name="memory">The kernel's memory.</param>
        /// <param name="ipTable">Run-time address of __start_orc_unwind_ip.</param>
        /// <param name="entryTable">Run-time address of __start_orc_unwind.</param>
        /// <param name="count">Entries in each table.</param>
        /// <param name="layout">How this kernel packs struct orc_entry.</param>
        /// <param name="lookup">orc_lookup and its slot count, or 0 and 0 to search the whole table.</param>
        /// <param name="text">_stext and _etext: where orc_lookup applies and where vmlinux code is.</param>
        /// <param name="initText">_sinittext and _einittext (0, 0 when unknown).</param>
        /// <param name="pageSize">Bytes per table read, a power of two (best: what the stub sends in one reply).</param>
        public OrcTable(ITargetMemory memory, ulong ipTable, ulong entryTable, long count, OrcLayout layout,
            ulong lookup, long lookupBlocks, (ulong Start, ulong End) text, (ulong Start, ulong End) initText, int pageSize = DefaultPageSize)
        {
            if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "An ORC table has entries.");
            _pages = new BlockCache(memory, pageSize);
            _ipTable = ipTable;
            _entryTable = entryTable;
            _count = count;
            Layout = layout;
            _lookup = lookup;
            _lookupBlocks = lookupBlocks;
            (_textStart, _textEnd) = text;
            (_initStart, _initEnd) = initText;
        }

        public OrcLayout Layout { get; }

        /// <summary>Entries in the table.</summary>
        public long Count => _count;

        /// <summary>Table pages read from the target so far.</summary>
        public int PagesRead => _pages.BlocksRead;

        /// <summary>
        /// The table of a kernel whose symbols are <paramref name="symbols"/> (already slid), or null when the
        /// kernel has no ORC (built with frame pointers: no __start_orc_unwind_ip). The layout comes from
        /// __start_orc_header, which only 6.4+ kernels have.
        /// </summary>
        public static OrcTable? FromSymbols(ITargetMemory memory, SymbolTable symbols, int pageSize = DefaultPageSize)
        {
            if (memory == null) throw new ArgumentNullException(nameof(memory));
            if (symbols == null) throw new ArgumentNullException(nameof(symbols));
            if (!symbols.TryGetAddress("__start_orc_unwind_ip", out ulong ipStart) ||
                !symbols.TryGetAddress("__stop_orc_unwind_ip", out ulong ipStop) ||
                !symbols.TryGetAddress("__start_orc_unwind", out ulong entries) || ipStop <= ipStart)
                return null;
            OrcLayout layout = symbols.TryGetAddress("__start_orc_header", out _) ? OrcLayout.Linux64 : OrcLayout.Linux61;
            symbols.TryGetAddress("_stext", out ulong stext);
            symbols.TryGetAddress("_etext", out ulong etext);
            symbols.TryGetAddress("_sinittext", out ulong sinit);
            symbols.TryGetAddress("_einittext", out ulong einit);
            ulong lookup = 0;
            long blocks = 0;
            if (symbols.TryGetAddress("orc_lookup", out ulong l) && symbols.TryGetAddress("orc_lookup_end", out ulong le) && le > l && stext != 0)
            {
                lookup = l;
                blocks = (long)(le - l) / 4;
            }
            return new OrcTable(memory, ipStart, entries, (long)(ipStop - ipStart) / 4, layout, lookup, blocks, (stext, etext), (sinit, einit), pageSize);
        }

        /// <summary>True when <paramref name="ip"/> lies in vmlinux code the table covers (.text or .init.text).</summary>
        public bool Covers(ulong ip) => (ip >= _textStart && ip < _textEnd) || (ip >= _initStart && ip < _initEnd);

        /// <summary>
        /// The entry for <paramref name="ip"/> (the rightmost whose address is at or below it, as __orc_find
        /// picks), or null when ip is outside vmlinux code. Reads table pages it has not read before.
        /// </summary>
        public async Task<OrcEntry?> FindAsync(ulong ip, CancellationToken ct)
        {
            if (ip == 0) return OrcEntry.NullCall;
            if (!Covers(ip)) return null;
            long first = 0, last = _count - 1;
            if (_lookupBlocks > 1 && ip >= _textStart && ip < _textEnd)
            {
                ulong block = (ip - _textStart) / LookupBlockSize;
                if (block >= (ulong)(_lookupBlocks - 1)) return null;
                first = (uint)await _pages.ReadInt32Async(_lookup + block * 4, ct).ConfigureAwait(false);
                last = (uint)await _pages.ReadInt32Async(_lookup + (block + 1) * 4, ct).ConfigureAwait(false);
                if (first >= _count || last >= _count) return null;
            }
            long found = first;
            while (first <= last)
            {
                long mid = first + (last - first) / 2;
                if (await IpAsync(mid, ct).ConfigureAwait(false) <= ip)
                {
                    found = mid;
                    first = mid + 1;
                }
                else last = mid - 1;
            }
            byte[] raw = await _pages.ReadAsync(_entryTable + (ulong)found * OrcEntry.Size, OrcEntry.Size, ct).ConfigureAwait(false);
            return OrcEntry.Decode(raw, 0, Layout);
        }

        private async Task<ulong> IpAsync(long index, CancellationToken ct)
        {
            ulong at = _ipTable + (ulong)index * 4;
            int relative = await _pages.ReadInt32Async(at, ct).ConfigureAwait(false);
            return unchecked(at + (ulong)(long)relative);
        }
    }
}
