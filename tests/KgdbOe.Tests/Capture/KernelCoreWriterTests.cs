using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ELFSharp.ELF;
using ELFSharp.ELF.Segments;
using KgdbOe.Capture;
using KgdbOe.Client;
using Xunit;

namespace KgdbOe.Tests.Capture
{
    /// <summary>
    /// The core writer against a fake kernel: the file is read back with ELFSharp (an independent ELF reader) and by
    /// hand; unreadable pages, a target that stops answering and a full disk behave as Export-KernelCore promises.
    /// </summary>
    public sealed class KernelCoreWriterTests
    {
        private const ulong PageOffset = 0xffff9a0000000000UL;
        private const ulong PhysBase = 0x2a00000UL;

        /// <summary>Physical memory as a pattern: each 8-byte word holds its own physical address; some pages refuse to be read.</summary>
        private sealed class FakeTarget : ICoreTarget
        {
            public HashSet<ulong> BadPages { get; } = new HashSet<ulong>();
            public ulong? TimeoutAt { get; set; }
            public int ChunkSize { get; set; } = 511;

            public static byte[] Pattern(ulong physical, int length)
            {
                var b = new byte[length];
                for (int i = 0; i < length; i++) b[i] = (byte)((physical + (ulong)i) >> (8 * (int)((physical + (ulong)i) & 7)));
                return b;
            }

            public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct)
            {
                ulong physical = address - PageOffset;
                for (ulong p = physical & ~0xfffUL; p < physical + (ulong)length; p += 0x1000)
                    if (BadPages.Contains(p)) throw new TargetErrorException("E14", 14, address);
                return Task.FromResult(Pattern(physical, length));
            }

            public async Task ReadStreamAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, CancellationToken ct)
            {
                long done = 0;
                while (done < length)
                {
                    ulong at = address + (ulong)done;
                    int n = (int)Math.Min(ChunkSize, length - done);
                    ulong physical = at - PageOffset;
                    if (TimeoutAt is ulong t && physical + (ulong)n > t) throw new TargetTimeoutException("no answer");
                    for (ulong p = physical & ~0xfffUL; p < physical + (ulong)n; p += 0x1000)
                        if (BadPages.Contains(p)) throw new TargetErrorException("E14", 14, Math.Max(p, physical) + PageOffset);
                    await onChunk(at, Pattern(physical, n)).ConfigureAwait(false);
                    done += n;
                }
            }

            public Task<IReadOnlyDictionary<string, ulong>> ReadCpuRegistersAsync(int cpu, CancellationToken ct) =>
                Task.FromResult<IReadOnlyDictionary<string, ulong>>(new Dictionary<string, ulong>());
        }

        private static KernelCorePlan Plan()
        {
            var info = new VmcoreInfo(Encoding.ASCII.GetBytes("OSRELEASE=6.12.0-test\nPAGESIZE=4096\nKERNELOFFSET=1a000000\nNUMBER(phys_base)=44040192\n"));
            var ranges = new List<CoreRange>
            {
                new CoreRange(0x1000, 0x9e000, PageOffset + 0x1000),
                new CoreRange(0x100000, 0x3f00000, PageOffset + 0x100000),
            };
            var rip = new Dictionary<string, ulong> { ["rip"] = 0xffffffff9b123456, ["rsp"] = 0xffffc90000123f00, ["rax"] = 0x1111 };
            var cpus = new List<CoreCpu> { new CoreCpu(0, 0, rip), new CoreCpu(1, 77, new Dictionary<string, ulong> { ["rip"] = 0x2222 }) };
            // The kernel image: 4 MiB at __START_KERNEL_map + 0x1000000 + slide; physical = that - map + phys_base.
            ulong text = KernelCorePlan.StartKernelMap + 0x1000000;
            return KernelCorePlan.Create(info, ranges, PageOffset, PhysBase, cpus, text, text + 0x400000);
        }

        private static (KernelCoreSummary Summary, byte[] File) Write(FakeTarget target, KernelCorePlan plan)
        {
            var file = new MemoryStream();
            KernelCoreSummary summary = KernelCoreWriter.WriteAsync(plan, target, file, "mem", null, CancellationToken.None).GetAwaiter().GetResult();
            return (summary, file.ToArray());
        }

        [Fact]
        public void WritesAnElfCoreWithNotesTheTextMappingAndEveryRange()
        {
            KernelCorePlan plan = Plan();
            (KernelCoreSummary summary, byte[] bytes) = Write(new FakeTarget(), plan);
            string path = Path.GetTempFileName();
            try
            {
                File.WriteAllBytes(path, bytes);
                using IELF elf = ELFReader.Load(path);
                var e = (ELF<ulong>)elf;
                Assert.Equal(FileType.Core, e.Type);
                Assert.Equal(Machine.AMD64, e.Machine);
                var segments = e.Segments.ToList();
                Assert.Equal(ELFSharp.ELF.Segments.SegmentType.Note, segments[0].Type);
                Assert.Equal(4, segments.Count);

                // The text mapping: physical = virtual - __START_KERNEL_map + phys_base, its bytes are those memory bytes.
                Segment<ulong> text = segments[1];
                Assert.Equal(KernelCorePlan.StartKernelMap + 0x1000000, text.Address);
                Assert.Equal(0x1000000 + PhysBase, text.PhysicalAddress);
                Assert.Equal(FakeTarget.Pattern(text.PhysicalAddress, 4096), text.GetFileContents().Take(4096).ToArray());

                for (int i = 0; i < plan.Ranges.Count; i++)
                {
                    Segment<ulong> s = segments[2 + i];
                    CoreRange r = plan.Ranges[i];
                    Assert.Equal(SegmentType.Load, s.Type);
                    Assert.Equal(r.PhysicalAddress, s.PhysicalAddress);
                    Assert.Equal(PageOffset + r.PhysicalAddress, s.Address);
                    Assert.Equal(r.Length, s.Size);
                    byte[] data = s.GetFileContents();
                    Assert.Equal(FakeTarget.Pattern(r.PhysicalAddress, (int)r.Length), data);
                }
                Assert.Equal(bytes.LongLength, summary.FileBytes);
                Assert.Equal(0x9e000L + 0x3f00000L, summary.RamBytes);
                Assert.Equal(0, summary.UnreadablePageCount);
                Assert.Equal("6.12.0-test", summary.KernelRelease);
            }
            finally { File.Delete(path); }
        }

        [Fact]
        public void NotesArePrStatusPerCpuInOrderThenVmcoreInfo()
        {
            (_, byte[] bytes) = Write(new FakeTarget(), Plan());
            ulong notesAt = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(64 + 8));
            ulong notesSize = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(64 + 32));
            var notes = new List<(string Name, uint Type, byte[] Desc)>();
            int at = (int)notesAt;
            while (at < (int)(notesAt + notesSize))
            {
                int nameSize = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
                int descSize = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at + 4));
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8));
                string name = Encoding.ASCII.GetString(bytes, at + 12, nameSize - 1);
                int desc = at + 12 + ((nameSize + 3) & ~3);
                notes.Add((name, type, bytes.AsSpan(desc, descSize).ToArray()));
                at = desc + ((descSize + 3) & ~3);
            }
            Assert.Equal(new[] { "CORE", "CORE", "VMCOREINFO" }, notes.Select(n => n.Name));
            Assert.Equal(1u, notes[0].Type);
            Assert.Equal(ElfCore.PrStatusSize, notes[0].Desc.Length);
            // pr_pid at 32; user_regs_struct at 112: rax is register 10, rip 16, rsp 19, orig_rax 15.
            Assert.Equal(77, BinaryPrimitives.ReadInt32LittleEndian(notes[1].Desc.AsSpan(32)));
            Assert.Equal(0x1111UL, BinaryPrimitives.ReadUInt64LittleEndian(notes[0].Desc.AsSpan(112 + 10 * 8)));
            Assert.Equal(0xffffffff9b123456UL, BinaryPrimitives.ReadUInt64LittleEndian(notes[0].Desc.AsSpan(112 + 16 * 8)));
            Assert.Equal(0xffffc90000123f00UL, BinaryPrimitives.ReadUInt64LittleEndian(notes[0].Desc.AsSpan(112 + 19 * 8)));
            Assert.Equal(ulong.MaxValue, BinaryPrimitives.ReadUInt64LittleEndian(notes[0].Desc.AsSpan(112 + 15 * 8)));
            Assert.Equal(0x2222UL, BinaryPrimitives.ReadUInt64LittleEndian(notes[1].Desc.AsSpan(112 + 16 * 8)));
            Assert.StartsWith("OSRELEASE=6.12.0-test\n", Encoding.ASCII.GetString(notes[2].Desc));
        }

        [Fact]
        public void UnreadablePagesAreZerosAndListedAndTheRestIsIntact()
        {
            var target = new FakeTarget();
            target.BadPages.Add(0x5000);
            target.BadPages.Add(0x6000);
            target.BadPages.Add(0x200000);
            KernelCorePlan plan = Plan();
            (KernelCoreSummary summary, byte[] bytes) = Write(target, plan);
            Assert.Equal(3, summary.UnreadablePageCount);
            Assert.Equal(new ulong[] { 0x5000, 0x6000, 0x200000 }, summary.UnreadablePages);
            Assert.Equal(2, plan.Ranges[0].UnreadablePages);
            Assert.Equal(1, plan.Ranges[1].UnreadablePages);
            Assert.Equal(0x7f, bytes[0]);

            byte[] At(ulong physical, int length)
            {
                CoreRange r = plan.Ranges.First(x => physical >= x.PhysicalAddress && physical < x.End);
                return bytes.AsSpan((int)(r.FileOffset + physical - r.PhysicalAddress), length).ToArray();
            }
            Assert.Equal(new byte[0x2000], At(0x5000, 0x2000));
            Assert.Equal(FakeTarget.Pattern(0x1000, 0x4000), At(0x1000, 0x4000));
            Assert.Equal(FakeTarget.Pattern(0x7000, 0x98000), At(0x7000, 0x98000));
            Assert.Equal(new byte[0x1000], At(0x200000, 0x1000));
            Assert.Equal(FakeTarget.Pattern(0x1ff000, 0x1000), At(0x1ff000, 0x1000));
            Assert.Equal(FakeTarget.Pattern(0x201000, 0x1000), At(0x201000, 0x1000));
        }

        [Fact]
        public async Task ATargetThatStopsAnsweringLeavesNoElfMagic()
        {
            var target = new FakeTarget { TimeoutAt = 0x2000000 };
            var file = new MemoryStream();
            await Assert.ThrowsAsync<TargetTimeoutException>(() => KernelCoreWriter.WriteAsync(Plan(), target, file, "mem", null, CancellationToken.None));
            byte[] bytes = file.ToArray();
            Assert.True(bytes.Length > 0x1000000);
            Assert.Equal(new byte[4], bytes.Take(4).ToArray());
        }

        [Fact]
        public async Task AFullDiskIsDiskFullAndLeavesNoElfMagic()
        {
            var file = new FullDiskStream(8 << 20);
            var e = await Assert.ThrowsAsync<KernelCoreException>(() => KernelCoreWriter.WriteAsync(Plan(), new FakeTarget(), file, "mem", null, CancellationToken.None));
            Assert.Equal(KernelCoreFailure.DiskFull, e.Failure);
            Assert.Equal(new byte[4], file.ToArray().Take(4).ToArray());
        }

        [Fact]
        public async Task CancellationLeavesNoElfMagic()
        {
            using var cts = new CancellationTokenSource();
            var file = new MemoryStream();
            var progress = new SyncProgress(done => { if (done > (8 << 20)) cts.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => KernelCoreWriter.WriteAsync(Plan(), new FakeTarget(), file, "mem", progress, cts.Token));
            Assert.Equal(new byte[4], file.ToArray().Take(4).ToArray());
        }

        [Fact]
        public void VmcoreInfoReadsTheLinesCrashAndDrgnNeed()
        {
            var info = new VmcoreInfo(Encoding.ASCII.GetBytes("OSRELEASE=6.1.0\nPAGESIZE=4096\nKERNELOFFSET=3c000000\nNUMBER(phys_base)=-16777216\nSYMBOL(swapper_pg_dir)=ffffffff82a0a000\n"));
            Assert.Equal("6.1.0", info.Release);
            Assert.Equal(0x3c000000UL, info.KernelOffset);
            Assert.Equal(unchecked((ulong)-16777216L), info.PhysBase);
            Assert.Equal(4096UL, info.PageSize);
            Assert.Equal("ffffffff82a0a000", info.Get("SYMBOL(swapper_pg_dir)"));
            Assert.Null(info.Get("CRASHTIME"));
        }

        private sealed class SyncProgress : IProgress<long>
        {
            private readonly Action<long> _a;
            public SyncProgress(Action<long> a) => _a = a;
            public void Report(long value) => _a(value);
        }

        /// <summary>A stream that fails like Linux's write(2) with ENOSPC once it holds <c>capacity</c> bytes.</summary>
        private sealed class FullDiskStream : MemoryStream
        {
            private readonly long _capacity;
            public FullDiskStream(long capacity) => _capacity = capacity;

            public override void Write(byte[] buffer, int offset, int count)
            {
                if (Position + count > _capacity) throw new IOException("No space left on device : 'core.partial'", 28);
                base.Write(buffer, offset, count);
            }

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
            {
                Write(buffer, offset, count);
                return Task.CompletedTask;
            }
        }
    }
}
