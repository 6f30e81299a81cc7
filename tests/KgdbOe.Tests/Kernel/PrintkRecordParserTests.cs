using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using KgdbOe.Kernel;
using Xunit;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>
    /// The printk ring buffer reader on descriptors, infos and a text data ring laid out as
    /// kernel/printk/printk_ringbuffer.h documents them (64-bit: struct prb_desc 24 bytes, struct printk_info 88 bytes,
    /// a data block = unsigned long id + text, 8-byte aligned; state in the top two bits of state_var).
    /// </summary>
    public sealed class PrintkRecordParserTests
    {
        private const int SizeBits = 8; // a 256-byte data ring, small enough to wrap
        private const ulong Reserved = 0, Committed = 1, Finalized = 2, Reusable = 3;

        private readonly PrintkLayout _layout = new PrintkLayout();
        private readonly List<(ulong Seq, ulong State, ulong Begin, ulong Next, string Text, int Level, uint Caller)> _records =
            new List<(ulong, ulong, ulong, ulong, string, int, uint)>();
        private readonly byte[] _ring = new byte[1 << SizeBits];
        private ulong _lpos = 0x1000; // a few wraps in

        /// <summary>Appends a record the way data_alloc() does: a block at the next aligned position, or at index 0 of the next wrap when it does not fit.</summary>
        private void Add(ulong seq, string text, ulong state = Finalized, int level = 6, uint caller = 42)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            ulong size = (ulong)(8 + bytes.Length + 7) & ~7UL;
            ulong ringSize = 1UL << SizeBits;
            ulong begin = _lpos;
            ulong next = begin + size;
            ulong blockStart = begin;
            if (begin >> SizeBits != (next - 1) >> SizeBits)
            {
                // Wraps: the data goes to the start of the next wrap; next counts from there.
                blockStart = (begin | (ringSize - 1)) + 1;
                next = blockStart + size;
            }
            int at = (int)(blockStart & (ringSize - 1));
            BinaryPrimitives.WriteUInt64LittleEndian(_ring.AsSpan(at), seq);
            bytes.CopyTo(_ring, at + 8);
            _records.Add((seq, state, begin, next, text, level, caller));
            _lpos = next;
        }

        private void AddDataless(ulong seq, ulong lpos, ulong state = Finalized) => _records.Add((seq, state, lpos, lpos, "", 6, 1));

        private List<KernelLogRecord> Parse(ulong? first = null, ulong? last = null)
        {
            var all = _records;
            ulong firstSeq = first ?? all[0].Seq, lastSeq = last ?? all[all.Count - 1].Seq;
            var chosen = all.Where(r => r.Seq >= firstSeq && r.Seq <= lastSeq).ToList();
            var descs = new byte[chosen.Count * _layout.DescSize];
            var infos = new byte[chosen.Count * _layout.InfoSize];
            for (int i = 0; i < chosen.Count; i++)
            {
                var r = chosen[i];
                BinaryPrimitives.WriteUInt64LittleEndian(descs.AsSpan(i * 24), (r.State << 62) | (r.Seq + 0x100)); // id differs from seq
                BinaryPrimitives.WriteUInt64LittleEndian(descs.AsSpan(i * 24 + 8), r.Begin);
                BinaryPrimitives.WriteUInt64LittleEndian(descs.AsSpan(i * 24 + 16), r.Next);
                int info = i * 88;
                BinaryPrimitives.WriteUInt64LittleEndian(infos.AsSpan(info), r.Seq);
                BinaryPrimitives.WriteUInt64LittleEndian(infos.AsSpan(info + 8), 1_234_567_000 + r.Seq * 1000);
                BinaryPrimitives.WriteUInt16LittleEndian(infos.AsSpan(info + 16), (ushort)Encoding.UTF8.GetByteCount(r.Text));
                infos[info + 18] = 0;
                infos[info + 19] = (byte)(2 | (r.Level << 5)); // flags:5 = LOG_NEWLINE, level:3
                BinaryPrimitives.WriteUInt32LittleEndian(infos.AsSpan(info + 20), r.Caller);
            }
            (ulong Begin, ulong End)? span = PrintkRecordParser.TextSpan(_layout, chosen.Count, descs, SizeBits);
            byte[] text = Array.Empty<byte>();
            ulong start = 0;
            if (span is (ulong b, ulong e))
            {
                text = new byte[e - b];
                for (ulong p = b; p < e; p++) text[p - b] = _ring[p & ((1UL << SizeBits) - 1)];
                start = b;
            }
            return PrintkRecordParser.Parse(_layout, firstSeq, lastSeq, descs, infos, SizeBits, text, start);
        }

        [Fact]
        public void ReadsFinalizedRecordsWithTheirFields()
        {
            Add(10, "first line");
            Add(11, "second", level: 3, caller: 0x80000001);
            List<KernelLogRecord> records = Parse();
            Assert.Equal(new[] { "first line", "second" }, records.Select(r => r.Text));
            Assert.Equal(new ulong[] { 10, 11 }, records.Select(r => r.Sequence));
            Assert.Equal(6, records[0].Level);
            Assert.Equal("T42", records[0].Caller);
            Assert.Equal(3, records[1].Level);
            Assert.Equal("err", records[1].LevelName);
            Assert.Equal("C1", records[1].Caller);
            Assert.Equal(2, records[0].Flags);
            Assert.Equal(1_234_577_000UL, records[0].TimestampNanoseconds);
            Assert.Equal("[    1.234577] first line", records[0].ToString());
        }

        [Fact]
        public void ReadsARecordWhoseBlockWrapsToTheStartOfTheRing()
        {
            for (ulong s = 0; s < 12; s++) Add(s, "message number " + s);
            Assert.Contains(_records, r => r.Begin >> SizeBits != r.Next >> SizeBits); // one wrapped
            List<KernelLogRecord> records = Parse(first: 6);
            Assert.Equal(Enumerable.Range(6, 6).Select(i => "message number " + i), records.Select(r => r.Text));
        }

        [Fact]
        public void SkipsReusableAndLostRecordsAndKeepsEmptyLines()
        {
            Add(1, "kept");
            Add(2, "gone", state: Reusable);
            AddDataless(3, 0x1);   // FAILED_LPOS: data lost
            AddDataless(4, 0x3);   // EMPTY_LINE_LPOS: an empty line
            Add(5, "after");
            List<KernelLogRecord> records = Parse();
            Assert.Equal(new ulong[] { 1, 4, 5 }, records.Select(r => r.Sequence));
            Assert.Equal("", records[1].Text);
        }

        [Fact]
        public void StopsAtARecordNotFinalizedYet()
        {
            Add(1, "done");
            Add(2, "being continued", state: Committed);
            Add(3, "reserved", state: Reserved);
            Assert.Equal(new[] { "done" }, Parse().Select(r => r.Text));
        }

        [Theory]
        [InlineData(0UL, "[    0.000000]")]
        [InlineData(12_345_678_901UL, "[   12.345678]")]
        [InlineData(123_456_000_000_000UL, "[123456.000000]")]
        public void FormatsTimesAsThePrintkPrefix(ulong ns, string text) => Assert.Equal(text, KernelLogRecord.FormatTime(ns));

        [Fact]
        public void PrefixesEveryLineOfAMultiLineRecord()
        {
            Add(1, "a\nb");
            Assert.Equal("[    1.234568] a\n[    1.234568] b", Parse()[0].ToString());
        }
    }
}
