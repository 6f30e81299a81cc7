using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>One record of the kernel log (struct printk_info plus its text, kernel/printk/printk_ringbuffer.h).</summary>
    public sealed class KernelLogRecord
    {
        internal KernelLogRecord(ulong sequence, ulong timestampNanoseconds, int level, int facility, uint callerId, int flags, string text)
        {
            Sequence = sequence;
            TimestampNanoseconds = timestampNanoseconds;
            Level = level;
            Facility = facility;
            CallerId = callerId;
            Flags = flags;
            Text = text;
        }

        /// <summary>printk_info.seq: the record's sequence number.</summary>
        public ulong Sequence { get; }

        /// <summary>printk_info.ts_nsec: local_clock() at the printk, nanoseconds since boot.</summary>
        public ulong TimestampNanoseconds { get; }

        /// <summary>The time since boot, as dmesg prints it.</summary>
        public TimeSpan Time => TimeSpan.FromTicks((long)(TimestampNanoseconds / 100));

        /// <summary>printk_info.level: 0 (emerg) to 7 (debug).</summary>
        public int Level { get; }

        /// <summary>The level's name as in include/linux/kern_levels.h ("err", "info").</summary>
        public string LevelName => Level >= 0 && Level < LevelNames.Length ? LevelNames[Level] : Level.ToString(CultureInfo.InvariantCulture);

        private static readonly string[] LevelNames = { "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug" };

        /// <summary>printk_info.facility: 0 for the kernel, 1 (user) for lines written to /dev/kmsg.</summary>
        public int Facility { get; }

        /// <summary>printk_info.caller_id: a thread id, or 0x80000000 + CPU for a printk outside task context.</summary>
        public uint CallerId { get; }

        /// <summary>The caller as CONFIG_PRINTK_CALLER prints it: "T123" (thread) or "C1" (CPU).</summary>
        public string Caller => (CallerId & 0x80000000) != 0
            ? "C" + (CallerId & 0x7fffffff).ToString(CultureInfo.InvariantCulture)
            : "T" + CallerId.ToString(CultureInfo.InvariantCulture);

        /// <summary>printk_info.flags (LOG_NEWLINE 2, LOG_CONT 8).</summary>
        public int Flags { get; }

        /// <summary>The message, without a trailing newline; a multi-line message keeps its inner newlines.</summary>
        public string Text { get; }

        /// <summary>The wall-clock time, when the reader could tell the guest's clock; else null.</summary>
        public DateTime? TimeCreated { get; internal set; }

        /// <summary>"[   12.345678] text", as dmesg prints it with printk.time on (each line of a multi-line record prefixed).</summary>
        public override string ToString()
        {
            // Like the kernel's syslog format (record_print_text()): every line of a multi-line record gets the prefix.
            string prefix = FormatTime(TimestampNanoseconds) + " ";
            return prefix + Text.Replace("\n", "\n" + prefix);
        }

        /// <summary>"[   12.345678]": seconds padded to 5, microseconds to 6 (kernel/printk/printk.c print_time()).</summary>
        public static string FormatTime(ulong nanoseconds) =>
            "[" + (nanoseconds / 1_000_000_000).ToString(CultureInfo.InvariantCulture).PadLeft(5) + "." +
            (nanoseconds % 1_000_000_000 / 1000).ToString("D6", CultureInfo.InvariantCulture) + "]";
    }

    /// <summary>
    /// Where the fields of the printk ring buffer's structs are (bytes), from BTF or, for tests, the 64-bit layout that
    /// kernel/printk/printk_ringbuffer.h declares (6.1 and 6.12 agree).
    /// </summary>
    public sealed class PrintkLayout
    {
        /// <summary>sizeof(struct prb_desc).</summary>
        public int DescSize { get; set; } = 24;
        /// <summary>offsetof(struct prb_desc, state_var).</summary>
        public int DescStateVar { get; set; }
        /// <summary>offsetof(struct prb_desc, text_blk_lpos.begin).</summary>
        public int DescBegin { get; set; } = 8;
        /// <summary>offsetof(struct prb_desc, text_blk_lpos.next).</summary>
        public int DescNext { get; set; } = 16;
        /// <summary>sizeof(struct printk_info).</summary>
        public int InfoSize { get; set; } = 88;
        /// <summary>offsetof(struct printk_info, seq).</summary>
        public int InfoSeq { get; set; }
        /// <summary>offsetof(struct printk_info, ts_nsec).</summary>
        public int InfoTsNsec { get; set; } = 8;
        /// <summary>offsetof(struct printk_info, text_len) (u16).</summary>
        public int InfoTextLen { get; set; } = 16;
        /// <summary>offsetof(struct printk_info, facility) (u8).</summary>
        public int InfoFacility { get; set; } = 18;
        /// <summary>Bit offset of the flags:5 bit field.</summary>
        public int InfoFlagsBit { get; set; } = 19 * 8;
        /// <summary>Bit offset of the level:3 bit field.</summary>
        public int InfoLevelBit { get; set; } = 19 * 8 + 5;
        /// <summary>offsetof(struct printk_info, caller_id) (u32).</summary>
        public int InfoCallerId { get; set; } = 20;

        /// <summary>The layout of the kernel whose types are <paramref name="context"/>'s.</summary>
        public static PrintkLayout FromTypes(KernelContext context)
        {
            StructType desc = context.FindStruct("struct prb_desc");
            StructType info = context.FindStruct("struct printk_info");
            return new PrintkLayout
            {
                DescSize = (int)desc.Size,
                DescStateVar = (int)context.FindField(desc, "state_var").Offset,
                DescBegin = (int)context.FindField(desc, "text_blk_lpos.begin").Offset,
                DescNext = (int)context.FindField(desc, "text_blk_lpos.next").Offset,
                InfoSize = (int)info.Size,
                InfoSeq = (int)context.FindField(info, "seq").Offset,
                InfoTsNsec = (int)context.FindField(info, "ts_nsec").Offset,
                InfoTextLen = (int)context.FindField(info, "text_len").Offset,
                InfoFacility = (int)context.FindField(info, "facility").Offset,
                InfoFlagsBit = (int)context.FindField(info, "flags").BitOffset,
                InfoLevelBit = (int)context.FindField(info, "level").BitOffset,
                InfoCallerId = (int)context.FindField(info, "caller_id").Offset,
            };
        }
    }

    /// <summary>
    /// The pure part of reading the log: given the descriptors and infos of a run of sequence numbers and the text data
    /// ring bytes they point to, the records a reader of the kernel would return, following prb_read() / get_data() /
    /// _prb_read_valid() in kernel/printk/printk_ringbuffer.c: a record is read only when its descriptor is finalized and
    /// its info's seq is the one asked for; a reusable descriptor or one with lost data (FAILED_LPOS) is skipped; a reserved,
    /// committed or missing one ends the log (it does not exist yet for a reader).
    /// </summary>
    public static class PrintkRecordParser
    {
        private const ulong FailedLpos = 0x1;
        private const ulong EmptyLineLpos = 0x3;
        private const int StateShift = 62;           // DESC_FLAGS_SHIFT on 64-bit
        private const ulong StateFinalized = 2, StateReusable = 3;

        /// <summary>
        /// Parses the records <paramref name="firstSeq"/> .. <paramref name="lastSeq"/>. <paramref name="descs"/> and
        /// <paramref name="infos"/> hold the descriptors and infos of those sequence numbers in order (element i is seq
        /// firstSeq + i). <paramref name="text"/> holds the data ring's bytes at logical positions
        /// <paramref name="textStartLpos"/> on (see <see cref="TextSpan"/>); <paramref name="sizeBits"/> is the data ring's
        /// size_bits.
        /// </summary>
        public static List<KernelLogRecord> Parse(PrintkLayout layout, ulong firstSeq, ulong lastSeq, byte[] descs, byte[] infos,
            int sizeBits, byte[] text, ulong textStartLpos)
        {
            var records = new List<KernelLogRecord>();
            for (ulong seq = firstSeq; seq <= lastSeq; seq++)
            {
                int i = (int)(seq - firstSeq);
                ulong stateVar = Read64(descs, i * layout.DescSize + layout.DescStateVar);
                ulong state = stateVar >> StateShift;
                ulong infoSeq = Read64(infos, i * layout.InfoSize + layout.InfoSeq);
                if (infoSeq != seq || (state != StateFinalized && state != StateReusable)) break; // not there yet for a reader
                if (state == StateReusable) continue;                                           // gone: skip
                ulong begin = Read64(descs, i * layout.DescSize + layout.DescBegin);
                ulong next = Read64(descs, i * layout.DescSize + layout.DescNext);
                string? body = GetText(layout, infos, i, begin, next, sizeBits, text, textStartLpos);
                if (body == null) continue;                                                     // data lost: skip
                int info = i * layout.InfoSize;
                records.Add(new KernelLogRecord(
                    seq,
                    Read64(infos, info + layout.InfoTsNsec),
                    (int)ValueDecoder.ExtractBits(infos, (ulong)(info * 8 + layout.InfoLevelBit), 3),
                    infos[info + layout.InfoFacility],
                    BinaryPrimitives.ReadUInt32LittleEndian(infos.AsSpan(info + layout.InfoCallerId)),
                    (int)ValueDecoder.ExtractBits(infos, (ulong)(info * 8 + layout.InfoFlagsBit), 5),
                    body));
            }
            return records;
        }

        /// <summary>
        /// The logical span [begin, end) of the data ring that the text of these descriptors lies in (records in sequence
        /// order have increasing logical positions); null when none has data.
        /// </summary>
        public static (ulong Begin, ulong End)? TextSpan(PrintkLayout layout, int count, byte[] descs, int sizeBits)
        {
            ulong? begin = null, end = null;
            ulong size = 1UL << sizeBits;
            for (int i = 0; i < count; i++)
            {
                ulong b = Read64(descs, i * layout.DescSize + layout.DescBegin);
                ulong n = Read64(descs, i * layout.DescSize + layout.DescNext);
                if ((b & 1) != 0 && (n & 1) != 0) continue; // data-less
                if (n <= b || n - b > size) continue;        // not a block a reader would use
                if (begin == null || b < begin) begin = b;
                if (end == null || n > end) end = n;
            }
            if (begin == null || end == null) return null;
            if (end.Value - begin.Value > size) begin = end.Value - size; // never more than the ring
            return (begin.Value, end.Value);
        }

        private static string? GetText(PrintkLayout layout, byte[] infos, int i, ulong begin, ulong next, int sizeBits, byte[] text, ulong textStartLpos)
        {
            if ((begin & 1) != 0 && (next & 1) != 0)
                return begin == EmptyLineLpos && next == EmptyLineLpos ? string.Empty : null; // FAILED_LPOS: lost
            ulong size = 1UL << sizeBits;
            ulong dataLpos, dataSize;
            if (begin >> sizeBits == next >> sizeBits && begin < next)
            {
                dataLpos = begin;                        // a regular block
                dataSize = next - begin;
            }
            else if ((begin + size) >> sizeBits == next >> sizeBits)
            {
                dataLpos = next & ~(size - 1);           // a wrapping block: its data starts at index 0 of next's wrap
                dataSize = next & (size - 1);
            }
            else return null;
            if ((begin & 7) != 0 || (next & 7) != 0 || dataSize < 8) return null;
            ulong textLen = BinaryPrimitives.ReadUInt16LittleEndian(infos.AsSpan(i * layout.InfoSize + layout.InfoTextLen));
            if (dataSize - 8 < textLen) return null;
            if (dataLpos < textStartLpos || dataLpos + 8 + textLen - textStartLpos > (ulong)text.Length) return null; // not read
            int at = (int)(dataLpos + 8 - textStartLpos);
            return Encoding.UTF8.GetString(text, at, (int)textLen);
        }

        private static ulong Read64(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
    }

    /// <summary>
    /// Reads the kernel log from the printk ring buffer that <c>prb</c> points to: the header, then the descriptors and
    /// infos of the wanted sequence numbers in at most two reads each (the arrays wrap), then the text they point to in at
    /// most two reads. Only what -Last needs is read.
    /// </summary>
    public sealed class PrintkLog
    {
        private readonly KernelContext _context;
        private readonly PrintkLayout _layout;
        private readonly StructType _ring;
        private static readonly DateTime UnixEpoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        /// <summary>Learns the layout from BTF; throws <see cref="KernelTypeNotFoundException"/> on a kernel without the 5.10+ ring buffer.</summary>
        public PrintkLog(KernelContext context)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _ring = context.FindStruct("struct printk_ringbuffer");
            _layout = PrintkLayout.FromTypes(context);
        }

        /// <summary>
        /// The last <paramref name="last"/> records (all when null), oldest first; with <paramref name="since"/> only those
        /// at or after that time since boot.
        /// </summary>
        public async Task<IReadOnlyList<KernelLogRecord>> ReadAsync(int? last, TimeSpan? since, CancellationToken ct) =>
            await ReadAsync(last, since, null, ct).ConfigureAwait(false);

        /// <summary>
        /// As <see cref="ReadAsync(int?, TimeSpan?, CancellationToken)"/>, and with <paramref name="realtimeOffset"/> (from
        /// <see cref="ReadRealtimeOffsetAsync"/>) each record's <see cref="KernelLogRecord.TimeCreated"/> is set (UTC).
        /// </summary>
        public async Task<IReadOnlyList<KernelLogRecord>> ReadAsync(int? last, TimeSpan? since, TimeSpan? realtimeOffset, CancellationToken ct)
        {
            ulong prb = await _context.ReadUInt64Async(_context.GetSymbolAddress("prb"), "struct printk_ringbuffer *prb", ct).ConfigureAwait(false);
            KernelObject ring = await _context.ReadObjectAsync(prb, _ring, ct).ConfigureAwait(false);
            int countBits = (int)ring.GetUInt64("desc_ring.count_bits");
            int sizeBits = (int)ring.GetUInt64("text_data_ring.size_bits");
            if (countBits <= 0 || countBits > 24 || sizeBits <= 0 || sizeBits > 31)
                throw new KernelLayoutException($"The printk ring buffer at {KernelObjectException.Hex(prb)} has count_bits {countBits} and size_bits {sizeBits}: not a ring buffer.", KernelObjectException.Hex(prb));
            ulong descs = ring.GetUInt64("desc_ring.descs");
            ulong infos = ring.GetUInt64("desc_ring.infos");
            ulong data = ring.GetUInt64("text_data_ring.data");
            ulong headId = ring.GetUInt64("desc_ring.head_id.counter");
            ulong tailId = ring.GetUInt64("desc_ring.tail_id.counter");
            ulong count = 1UL << countBits;
            ulong mask = count - 1;

            ulong headSeq = await ReadSeqAsync(infos, headId & mask, ct).ConfigureAwait(false);
            ulong tailSeq = await ReadSeqAsync(infos, tailId & mask, ct).ConfigureAwait(false);
            if (headSeq < tailSeq || headSeq - tailSeq >= count) return Array.Empty<KernelLogRecord>(); // empty, or torn: nothing readable
            ulong first = tailSeq;
            if (last is int n && since == null)
            {
                // A few more than asked: reusable and lost records are skipped.
                ulong wanted = (ulong)Math.Max(0, n) + 16;
                if (headSeq + 1 - first > wanted) first = headSeq + 1 - wanted;
            }
            int records = (int)(headSeq - first + 1);
            byte[] descBytes = await ReadRingAsync(descs, first & mask, records, _layout.DescSize, countBits, "struct prb_desc[]", ct).ConfigureAwait(false);
            byte[] infoBytes = await ReadRingAsync(infos, first & mask, records, _layout.InfoSize, countBits, "struct printk_info[]", ct).ConfigureAwait(false);

            byte[] text = Array.Empty<byte>();
            ulong textStart = 0;
            if (PrintkRecordParser.TextSpan(_layout, records, descBytes, sizeBits) is (ulong begin, ulong end))
            {
                text = await ReadRingAsync(data, begin & ((1UL << sizeBits) - 1), (int)(end - begin), 1, sizeBits, "char text_data_ring[]", ct).ConfigureAwait(false);
                textStart = begin;
            }

            List<KernelLogRecord> all = PrintkRecordParser.Parse(_layout, first, headSeq, descBytes, infoBytes, sizeBits, text, textStart);
            IEnumerable<KernelLogRecord> selected = all;
            if (since is TimeSpan s) selected = all.FindAll(r => r.Time >= s);
            var list = new List<KernelLogRecord>(selected);
            if (last is int m && list.Count > m) list.RemoveRange(0, list.Count - Math.Max(0, m));
            if (realtimeOffset is TimeSpan offset)
                foreach (KernelLogRecord r in list) r.TimeCreated = UnixEpoch + offset + r.Time;
            return list;
        }

        /// <summary>
        /// The guest's CLOCK_REALTIME minus CLOCK_MONOTONIC (timekeeper.offs_real in kernel/time/timekeeping.c's tk_core),
        /// which turns a record's time since boot into wall-clock time; null when it cannot be read.
        /// </summary>
        public async Task<TimeSpan?> ReadRealtimeOffsetAsync(CancellationToken ct)
        {
            if (!_context.TryGetSymbolAddress("tk_core", out ulong tkCore)) return null;
            StructType? timekeeper = _context.Types.FindStruct("struct timekeeper");
            KernelType? seq = _context.Types.FindType("seqcount_raw_spinlock_t");
            if (timekeeper == null || seq == null) return null;
            ulong timekeeperOffset = (seq.Size + 7) & ~7UL; // static struct { seqcount_raw_spinlock_t seq; struct timekeeper timekeeper; }
            ulong offsReal = _context.FindField(timekeeper, "offs_real").Offset;
            long ns = (long)await _context.ReadUInt64Async(tkCore + timekeeperOffset + offsReal, "ktime_t tk_core.timekeeper.offs_real", ct).ConfigureAwait(false);
            return TimeSpan.FromTicks(ns / 100);
        }

        private async Task<ulong> ReadSeqAsync(ulong infos, ulong index, CancellationToken ct) =>
            await _context.ReadUInt64Async(infos + index * (ulong)_layout.InfoSize + (ulong)_layout.InfoSeq, "struct printk_info", ct).ConfigureAwait(false);

        /// <summary>Reads <paramref name="count"/> elements from index <paramref name="index"/> of a ring of 2^bits elements, wrapping.</summary>
        private async Task<byte[]> ReadRingAsync(ulong array, ulong index, int count, int elementSize, int bits, string what, CancellationToken ct)
        {
            ulong ring = 1UL << bits;
            var result = new byte[checked(count * elementSize)];
            int firstPart = (int)Math.Min((ulong)count, ring - index);
            byte[] a = await _context.ReadBytesAsync(array + index * (ulong)elementSize, firstPart * elementSize, what, ct).ConfigureAwait(false);
            Buffer.BlockCopy(a, 0, result, 0, a.Length);
            if (firstPart < count)
            {
                byte[] b = await _context.ReadBytesAsync(array, (count - firstPart) * elementSize, what, ct).ConfigureAwait(false);
                Buffer.BlockCopy(b, 0, result, a.Length, b.Length);
            }
            return result;
        }
    }
}
