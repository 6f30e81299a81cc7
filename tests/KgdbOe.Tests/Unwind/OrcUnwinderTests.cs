using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Unwind;
using Xunit;

namespace KgdbOe.Tests.Unwind
{
    /// <summary>
    /// The unwinder on a synthetic kernel: an ORC table in "memory" (ip table of self-relative int32s and a
    /// parallel orc_entry table, packed as each layout packs it), code that never runs, and a stack laid out
    /// as three functions would leave it: leaf A (stopped on an int3, after "push %rbp; mov %rsp,%rbp"),
    /// B (called A; 16 bytes of locals), C (entry code: a full pt_regs at its call site, user cs).
    /// </summary>
    public sealed class OrcUnwinderTests
    {
        private const ulong Text = 0xffffffff81000000;
        private const ulong A = Text + 0x100, B = Text + 0x200, C = Text + 0x300;
        private const ulong IpTable = 0xffffffff82000000, EntryTable = 0xffffffff82001000;
        private const ulong StackTop = 0xffffc90000014000;
        private const ulong S0 = StackTop - 0x400;
        private const ulong UserIp = 0x00007f0000001234, UserSp = 0x00007ffd00000f00;

        private static byte[] Encode(OrcLayout layout, short sp, short bp, OrcRegister spReg, OrcRegister bpReg, OrcType type)
        {
            int bits = (int)spReg | (int)bpReg << 4;
            if (layout == OrcLayout.Linux64)
            {
                int t = type switch { OrcType.Undefined => 0, OrcType.EndOfStack => 1, OrcType.Call => 2, OrcType.Regs => 3, _ => 4 };
                bits |= t << 8;
                if (type == OrcType.Regs || type == OrcType.RegsPartial) bits |= 1 << 11;
            }
            else
            {
                int t = type switch { OrcType.Regs => 1, OrcType.RegsPartial => 2, _ => 0 };
                bits |= t << 8;
                if (type == OrcType.EndOfStack) bits |= 1 << 10;
            }
            return new[] { (byte)sp, (byte)(sp >> 8), (byte)bp, (byte)(bp >> 8), (byte)bits, (byte)(bits >> 8) };
        }

        private static (FakeMemory Memory, OrcTable Table) Kernel(OrcLayout layout)
        {
            var memory = new FakeMemory();
            memory.Map(Text, 0x1000);
            memory.Map(IpTable, 0x1000);
            memory.Map(EntryTable, 0x1000);
            memory.Map(StackTop - 0x4000, 0x4000);
            var entries = new List<(ulong Ip, byte[] Entry)>
            {
                (A, Encode(layout, 8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Call)),
                (A + 1, Encode(layout, 16, -16, OrcRegister.Sp, OrcRegister.PrevSp, OrcType.Call)),
                (A + 4, Encode(layout, 16, -16, OrcRegister.Bp, OrcRegister.PrevSp, OrcType.Call)),
                (B, Encode(layout, 8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Call)),
                (B + 4, Encode(layout, 24, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Call)),
                (C, Encode(layout, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.EndOfStack)),
                (C + 0x10, Encode(layout, 0, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Regs)),
                (C + 0x40, Encode(layout, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.Undefined)),
            };
            for (int i = 0; i < entries.Count; i++)
            {
                ulong at = IpTable + (ulong)i * 4;
                memory.WriteInt32(at, (int)(long)(entries[i].Ip - at));
                memory.Write(EntryTable + (ulong)i * 6, entries[i].Entry);
            }
            // A's frame: saved rbp (B's), return into B.
            memory.WriteUInt64(S0, 0xffffc900000aaaa0);
            memory.WriteUInt64(S0 + 8, B + 0x15);
            // B's frame: 16 bytes of locals, return into C.
            memory.WriteUInt64(S0 + 16 + 16, C + 0x25);
            // C: the pt_regs the syscall entry pushed, at B's caller sp (S0 + 40).
            ulong regs = S0 + 40;
            memory.WriteUInt64(regs + 32, 0x00007ffd00000f80); // bp
            memory.WriteUInt64(regs + 128, UserIp);
            memory.WriteUInt64(regs + 136, 0x33);             // __USER_CS
            memory.WriteUInt64(regs + 152, UserSp);
            var table = new OrcTable(memory, IpTable, EntryTable, entries.Count, layout, 0, 0, (Text, Text + 0x1000), (0, 0));
            return (memory, table);
        }

        private static Dictionary<string, ulong> StoppedIn(ulong ip, ulong sp, ulong bp) =>
            new Dictionary<string, ulong> { ["rip"] = ip, ["rsp"] = sp, ["rbp"] = bp, ["cs"] = 0x10, ["r10"] = 0 };

        [Theory]
        [InlineData(OrcLayout.Linux61)]
        [InlineData(OrcLayout.Linux64)]
        public async Task Walks_call_frames_and_ends_at_the_user_mode_pt_regs(OrcLayout layout)
        {
            (FakeMemory memory, OrcTable table) = Kernel(layout);
            var start = new UnwindStart(A + 5, S0, S0, true, StoppedIn(A + 5, S0, S0));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(UnwindEnd.EndOfStack, r.End);
            Assert.Null(r.Failure);
            Assert.Equal(new[] { A + 5, B + 0x15, C + 0x25 }, r.Frames.Select(f => f.Pc));
            Assert.Equal(new[] { S0, S0 + 16, S0 + 40 }, r.Frames.Select(f => f.Sp));
            Assert.Equal(new[] { FrameSource.Regs, FrameSource.Orc, FrameSource.Orc }, r.Frames.Select(f => f.Source));
            Assert.All(r.Frames, f => Assert.True(f.Reliable));
        }

        [Fact]
        public async Task Stopped_at_a_function_entry_uses_the_entry_row_not_the_one_before()
        {
            // On A's first byte (int3 at the entry): sp points at the return address; signal, so ip itself is looked up.
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            memory.WriteUInt64(S0 + 8, B + 0x15); // as before, the return address now at sp
            var start = new UnwindStart(A, S0 + 8, 0xffffc900000aaaa0, true, StoppedIn(A, S0 + 8, 0xffffc900000aaaa0));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(new[] { A, B + 0x15, C + 0x25 }, r.Frames.Select(f => f.Pc));
            Assert.Equal(UnwindEnd.EndOfStack, r.End);
        }

        [Fact]
        public async Task A_corrupted_return_address_fails_with_the_frames_found_so_far()
        {
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            memory.WriteUInt64(S0 + 32, 0x4141414141414141);
            var start = new UnwindStart(A + 5, S0, S0, true, StoppedIn(A + 5, S0, S0));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(UnwindEnd.Failed, r.End);
            Assert.Equal(new[] { A + 5, B + 0x15 }, r.Frames.Select(f => f.Pc));
            Assert.Equal(B + 0x15, r.FailedPc);
            Assert.Contains("0x4141414141414141", r.Failure);
        }

        [Fact]
        public async Task Unreadable_stack_fails_with_the_frames_found_so_far()
        {
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            const ulong unmapped = 0xffffc90000100000;
            var start = new UnwindStart(A + 5, unmapped, unmapped, true, StoppedIn(A + 5, unmapped, unmapped));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(UnwindEnd.Failed, r.End);
            Assert.Single(r.Frames);
            Assert.Equal(A + 5, r.FailedPc);
            Assert.Contains("cannot be read", r.Failure);
        }

        [Fact]
        public async Task Code_without_orc_is_walked_by_frame_pointer_and_marked_unreliable()
        {
            // A module function (outside vmlinux text) with a standard rbp frame, called from B.
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            const ulong module = 0xffffffffa0001000;
            ulong s = S0 - 0x100;
            memory.WriteUInt64(s, S0 + 0x200);          // saved rbp (garbage for B, which does not use it)
            memory.WriteUInt64(s + 8, B + 0x15);        // return into B
            // B's frame starting at s + 16: 16 bytes of locals, then the return into C.
            memory.WriteUInt64(s + 16 + 16, C + 0x25);
            ulong regs = s + 40;
            memory.WriteUInt64(regs + 128, UserIp);
            memory.WriteUInt64(regs + 136, 0x33);
            memory.WriteUInt64(regs + 152, UserSp);
            var start = new UnwindStart(module + 0x20, s, s, true, StoppedIn(module + 0x20, s, s));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(UnwindEnd.EndOfStack, r.End);
            Assert.Equal(new[] { module + 0x20, B + 0x15, C + 0x25 }, r.Frames.Select(f => f.Pc));
            Assert.Equal(new[] { FrameSource.Regs, FrameSource.FramePointer, FrameSource.Orc }, r.Frames.Select(f => f.Source));
            Assert.Equal(new[] { true, false, false }, r.Frames.Select(f => f.Reliable));
        }

        [Fact]
        public async Task Stops_at_the_frame_limit()
        {
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux61);
            var start = new UnwindStart(A + 5, S0, S0, true, StoppedIn(A + 5, S0, S0));
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 2, CancellationToken.None);
            Assert.Equal(UnwindEnd.FrameLimit, r.End);
            Assert.Equal(2, r.Frames.Count);
        }

        [Fact]
        public async Task A_sleeping_task_starts_from_its_switch_frame()
        {
            // thread.sp points at struct inactive_task_frame { r15, r14, r13, r12, bx, bp, ret_addr } whose
            // ret_addr is in B (B's frame follows it), so the first frame is B itself.
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            ulong threadSp = S0 + 16 - UnwindStart.InactiveTaskFrameSize;
            var start = UnwindStart.FromSwitchFrame(threadSp, 0, B + 0x15, false);
            UnwindResult r = await new OrcUnwinder(table).UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(new[] { B + 0x15, C + 0x25 }, r.Frames.Select(f => f.Pc));
            Assert.Equal(UnwindEnd.EndOfStack, r.End);
        }

        [Fact]
        public async Task The_table_is_read_once_in_pages()
        {
            (FakeMemory memory, OrcTable table) = Kernel(OrcLayout.Linux64);
            var start = new UnwindStart(A + 5, S0, S0, true, StoppedIn(A + 5, S0, S0));
            var unwinder = new OrcUnwinder(table);
            await unwinder.UnwindAsync(memory, start, 64, CancellationToken.None);
            int pages = table.PagesRead;
            int reads = memory.Reads;
            await unwinder.UnwindAsync(memory, start, 64, CancellationToken.None);
            Assert.Equal(pages, table.PagesRead);
            Assert.Equal(2, pages);
            // The second unwind reads only stack blocks (one per 512 bytes touched).
            Assert.True(memory.Reads - reads <= 2, $"{memory.Reads - reads} reads");
        }
    }
}
