using System;
using System.Collections.Generic;
using System.Threading;
using KgdbOe.Kernel;
using KgdbOe.Tests.Types;
using KgdbOe.Types;
using Xunit;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>list_head and hlist walks over entries laid out by hand: order, container_of, cycles, bad pointers.</summary>
    public sealed class KernelListWalkerTests
    {
        private const ulong Head = 0xffffffff82000000;
        private const ulong Entries = 0xffff888000010000;
        private const ulong Stride = 0x100;

        private readonly FakeKernelMemory _memory = new FakeKernelMemory();
        private readonly KernelContext _context;
        private readonly KernelType _item;

        // struct item { int id; struct list_head link; struct hlist_node hnode; };  link at 8, hnode at 24, size 40
        public KernelListWalkerTests()
        {
            var b = new BtfBuilder();
            int intT = b.AddInt("int", 4, signed: true);
            int voidPtr = b.AddRef(BtfBuilder.Ptr, 0);
            int listHead = b.AddStruct("list_head", 16, ("next", voidPtr, 0, 0), ("prev", voidPtr, 64, 0));
            int hnode = b.AddStruct("hlist_node", 16, ("next", voidPtr, 0, 0), ("pprev", voidPtr, 64, 0));
            b.AddStruct("item", 40, ("id", intT, 0, 0), ("link", listHead, 64, 0), ("hnode", hnode, 192, 0));
            _context = new KernelContext(BtfTypeGraph.Parse(b.Build()), _memory, null);
            _item = _context.FindType("item");
            _memory.Add(Head, 16);
            _memory.Add(Entries, 0x1000);
        }

        private ulong Entry(int i) => Entries + (ulong)i * Stride;

        /// <summary>Head → entry 0 → 1 → ... → n-1 → (last's next).</summary>
        private void Link(int count, ulong lastNext, bool hlist = false)
        {
            ulong member = hlist ? 24UL : 8UL;
            _memory.Write64(Head, count == 0 ? lastNext : Entry(0) + member);
            for (int i = 0; i < count; i++)
            {
                _memory.Write32(Entry(i), (uint)(100 + i));
                _memory.Write64(Entry(i) + member, i + 1 < count ? Entry(i + 1) + member : lastNext);
            }
        }

        private static List<int> Ids(KernelListWalker walker, out Exception? error)
        {
            var ids = new List<int>();
            error = null;
            try
            {
                for (KernelObject? e = walker.NextAsync(CancellationToken.None).GetAwaiter().GetResult(); e != null;
                     e = walker.NextAsync(CancellationToken.None).GetAwaiter().GetResult())
                    ids.Add((int)e["id"]!);
            }
            catch (KernelObjectException e) { error = e; }
            return ids;
        }

        [Fact]
        public void WalksAListHeadIntoItsEntriesWithOneReadEach()
        {
            Link(3, Head);
            KernelListWalker walker = KernelListWalker.ForList(_context, Head, _item, "link");
            Assert.Equal(new[] { 100, 101, 102 }, Ids(walker, out Exception? error));
            Assert.Null(error);
            Assert.Equal(8UL, walker.MemberOffset);
            Assert.Equal(1 + 3, _memory.Reads);
        }

        [Fact]
        public void AnEmptyListHasNoEntries()
        {
            Link(0, Head);
            Assert.Empty(Ids(KernelListWalker.ForList(_context, Head, _item, "link"), out Exception? error));
            Assert.Null(error);
        }

        [Fact]
        public void StopsAtACycleAfterTheEntriesBeforeIt()
        {
            Link(3, Entry(1) + 8); // the last points back at the second: never reaches the head
            List<int> ids = Ids(KernelListWalker.ForList(_context, Head, _item, "link"), out Exception? error);
            Assert.Equal(new[] { 100, 101, 102 }, ids);
            var cycle = Assert.IsType<KernelListCycleException>(error);
            Assert.Equal(Entry(1) + 8, cycle.Node);
            Assert.Equal(3, cycle.Count);
        }

        [Fact]
        public void StopsAtABadPointerAfterTheEntriesBeforeIt()
        {
            Link(2, 0xdead000000000100); // LIST_POISON1
            List<int> ids = Ids(KernelListWalker.ForList(_context, Head, _item, "link"), out Exception? error);
            Assert.Equal(new[] { 100, 101 }, ids);
            Assert.Equal("0xdead000000000100", Assert.IsType<KernelBadPointerException>(error).Target);

            Link(1, 0xffff888000900000 + 8); // canonical, unmapped: the read fails
            Assert.IsType<KernelBadPointerException>(CatchAfter(1));
        }

        private Exception? CatchAfter(int expected)
        {
            List<int> ids = Ids(KernelListWalker.ForList(_context, Head, _item, "link"), out Exception? error);
            Assert.Equal(expected, ids.Count);
            return error;
        }

        [Fact]
        public void WalksAnHlistToItsNullEnd()
        {
            Link(2, 0, hlist: true);
            List<int> ids = Ids(KernelListWalker.ForHlist(_context, Head, _item, "hnode"), out Exception? error);
            Assert.Equal(new[] { 100, 101 }, ids);
            Assert.Null(error);
        }

        [Fact]
        public void RefusesAMemberThatIsNotAListNode()
        {
            var e = Assert.Throws<KernelLayoutException>(() => KernelListWalker.ForList(_context, Head, _item, "id"));
            Assert.Contains("not a struct list_head", e.Message);
            Assert.Throws<KernelLayoutException>(() => KernelListWalker.ForList(_context, Head, _item, "hnode"));
            Assert.Throws<KernelMemberNotFoundException>(() => KernelListWalker.ForList(_context, Head, _item, "nope"));
        }
    }
}
