using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Kernel;
using KgdbOe.Symbols;
using KgdbOe.Tests.Types;
using KgdbOe.Types;
using Xunit;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>
    /// Typed objects decoded from bytes with a small BTF graph built by hand: each member kind comes out as the C
    /// declaration says, from one read of sizeof(struct).
    /// </summary>
    public sealed class KernelObjectTests
    {
        private const ulong Base = 0xffff888000001000;
        private const ulong Function = 0xffffffff81000040;

        private readonly FakeKernelMemory _memory = new FakeKernelMemory();
        private readonly KernelContext _context;
        private readonly KernelType _sample;

        // struct sample {                          offset
        //     struct list_head node;               0      { next, prev }
        //     int negative;                        16
        //     unsigned long big;                   24
        //     char comm[8];                        32
        //     _Bool flag;                          40
        //     enum colour colour;                  44     (4 bytes)
        //     unsigned int low:3, mid:7;           48     bit fields 384..386, 387..393
        //     int sgn:5;                           49.2   bit 394..398 (signed)
        //     union { int x; unsigned long y; };   56     anonymous: x and y are members of sample
        //     int arr[3];                          64
        //     void (*fn)(int);                     80
        //     struct list_head *head;              88
        // };                                        size 96
        public KernelObjectTests()
        {
            var b = new BtfBuilder();
            int intT = b.AddInt("int", 4, signed: true);
            int ulongT = b.AddInt("long unsigned int", 8);
            int uintT = b.AddInt("unsigned int", 4);
            int charT = b.AddInt("char", 1, signed: true, isChar: true);
            int boolT = b.AddInt("_Bool", 1, isBool: true);
            int listHead = b.AddStruct("list_head", 16, ("next", 0, 0, 0), ("prev", 0, 64, 0)); // pointers patched below
            int listPtr = b.AddRef(BtfBuilder.Ptr, listHead);
            int colour = b.AddEnum("colour", 4, false, ("RED", 0), ("GREEN", 1), ("BLUE", 5));
            int comm = b.AddArray(charT, intT, 8);
            int arr = b.AddArray(intT, intT, 3);
            int union = b.AddUnion("", 8, ("x", intT, 0, 0), ("y", ulongT, 0, 0));
            int proto = b.AddFuncProto(0, ("v", intT));
            int fnPtr = b.AddRef(BtfBuilder.Ptr, proto);
            b.AddStruct("sample", 96,
                ("node", listHead, 0, 0), ("negative", intT, 128, 0), ("big", ulongT, 192, 0), ("comm", comm, 256, 0),
                ("flag", boolT, 320, 0), ("colour", colour, 352, 0), ("low", uintT, 384, 3), ("mid", uintT, 387, 7),
                ("sgn", intT, 394, 5), ("", union, 448, 0), ("arr", arr, 512, 0), ("fn", fnPtr, 640, 0), ("head", listPtr, 704, 0));
            byte[] blob = b.Build();
            // list_head's members point to list_head: patch the two member type ids (0 above) to listPtr.
            PatchListHead(blob, listPtr);
            BtfTypeGraph graph = BtfTypeGraph.Parse(blob);
            SymbolTable symbols = SymbolTable.FromKallsyms("ffffffff81000000 T _text\nffffffff81000040 T my_handler\nffffffff81000080 T other\n");
            _context = new KernelContext(graph, _memory, symbols);
            _sample = _context.FindType("struct sample");

            byte[] m = _memory.Add(Base, 96);
            _memory.Write64(Base, Base + 0x1000);           // node.next
            _memory.Write64(Base + 8, Base);                // node.prev
            _memory.Write32(Base + 16, unchecked((uint)-42));
            _memory.Write64(Base + 24, 0xfedcba9876543210);
            _memory.Write(Base + 32, new byte[] { (byte)'s', (byte)'w', (byte)'a', (byte)'p', 0, (byte)'x', (byte)'y', (byte)'z' });
            m[40] = 1;
            _memory.Write32(Base + 44, 5);
            // low = 5 (bits 384..386), mid = 0x55 (bits 387..393), sgn = -3 (5 bits: 0b11101, bits 394..398)
            ulong bits = 5UL | (0x55UL << 3) | (0b11101UL << 10);
            _memory.Write32(Base + 48, (uint)bits);
            _memory.Write64(Base + 56, 0x1_0000_0007);
            _memory.Write32(Base + 64, 10); _memory.Write32(Base + 68, 20); _memory.Write32(Base + 72, 30);
            _memory.Write64(Base + 80, Function);
            _memory.Write64(Base + 88, Base);               // head points back at node
        }

        private static void PatchListHead(byte[] blob, int listPtr)
        {
            // The struct list_head record is type 6: header at 24 + 5 int records (16 bytes each) = 104; members follow its 12-byte header.
            int members = 24 + 5 * 16 + 12;
            BitConverter.GetBytes((uint)listPtr).CopyTo(blob, members + 4);
            BitConverter.GetBytes((uint)listPtr).CopyTo(blob, members + 12 + 4);
        }

        private KernelObject Read() => _context.ReadObjectAsync(Base, _sample, CancellationToken.None).GetAwaiter().GetResult();

        [Fact]
        public void ReadsTheObjectWithOneReadAndDecodesNestedMembersFromTheSameBytes()
        {
            KernelObject o = Read();
            Assert.Equal(1, _memory.Reads);
            var node = Assert.IsType<KernelObject>(o["node"]);
            Assert.Equal(Base, node.Address);
            Assert.Equal("struct list_head", node.TypeName);
            Assert.Equal(Base + 0x1000, Assert.IsType<KernelPointer>(node["next"]).Address);
            Assert.Equal(Base + 0x1000, o.GetUInt64("node.next"));
            _ = o["comm"]; _ = o["arr"]; _ = o["head"];
            Assert.Equal(1, _memory.Reads);
        }

        [Fact]
        public void DecodesIntegersBoolsEnumsAndText()
        {
            KernelObject o = Read();
            Assert.Equal(-42, Assert.IsType<int>(o["negative"]));
            Assert.Equal(0xfedcba9876543210UL, Assert.IsType<ulong>(o["big"]));
            Assert.Equal("swap", o["comm"]);
            Assert.Equal(true, o["flag"]);
            var colour = Assert.IsType<KernelEnumValue>(o["colour"]);
            Assert.Equal("BLUE", colour.Name);
            Assert.Equal(5, colour.Value);
            Assert.Equal("BLUE", colour.ToString());
            Assert.True(colour.Equals("BLUE"));
            Assert.True(colour.Equals(5));
        }

        [Fact]
        public void DecodesBitFieldsAcrossByteBoundariesAndSignExtends()
        {
            KernelObject o = Read();
            Assert.Equal(5u, o["low"]);
            Assert.Equal(0x55u, o["mid"]);
            Assert.Equal(-3, o["sgn"]);
        }

        [Fact]
        public void LiftsAnonymousUnionMembersIntoTheStruct()
        {
            KernelObject o = Read();
            Assert.Equal(7, o["x"]);
            Assert.Equal(0x1_0000_0007UL, o["y"]);
            Assert.Contains(o.Fields, f => f.Name == "x");
            Assert.DoesNotContain(o.Fields, f => f.Name.Length == 0);
        }

        [Fact]
        public void DecodesArraysAndIndexedPaths()
        {
            KernelObject o = Read();
            Assert.Equal(new object[] { 10, 20, 30 }, Assert.IsType<object?[]>(o["arr"]));
            Assert.Equal(30, o["arr[2]"]);
            Assert.Throws<KernelMemberNotFoundException>(() => o["arr[3]"]);
        }

        [Fact]
        public void ShowsPointersAsHexWithTheirTargetAndFunctionPointersWithTheSymbol()
        {
            KernelObject o = Read();
            var fn = Assert.IsType<KernelPointer>(o["fn"]);
            Assert.True(fn.IsFunction);
            Assert.Equal("my_handler", fn.Symbol);
            Assert.Equal("0xffffffff81000040 <my_handler>", fn.ToString());
            var head = Assert.IsType<KernelPointer>(o["head"]);
            Assert.Equal("struct list_head", head.Type);
            Assert.Equal("0xffff888000001000", head.ToString());
        }

        [Fact]
        public void FollowsAPointerWithASecondRead()
        {
            KernelObject o = Read();
            KernelObject node = Assert.IsType<KernelPointer>(o["head"]).Read();
            Assert.Equal(2, _memory.Reads);
            Assert.Equal(Base + 0x1000, node.GetUInt64("next"));
        }

        [Fact]
        public void NamesTheTypeAndMemberThatIsMissing()
        {
            KernelObject o = Read();
            var e = Assert.Throws<KernelMemberNotFoundException>(() => o["no_such"]);
            Assert.Equal("struct sample.no_such", e.Target);
            var t = Assert.Throws<KernelTypeNotFoundException>(() => _context.FindType("struct nothing_here"));
            Assert.Equal("struct nothing_here", t.Target);
        }

        [Fact]
        public void ReportsUnreadableAndNonKernelPointersAsBadPointers()
        {
            var unmapped = Assert.Throws<KernelBadPointerException>(() =>
                _context.ReadObjectAsync(0xffff888000100000, _sample, CancellationToken.None).GetAwaiter().GetResult());
            Assert.Equal("0xffff888000100000", unmapped.Target);
            Assert.IsType<KgdbOe.Client.TargetErrorException>(unmapped.InnerException);
            var user = Assert.Throws<KernelBadPointerException>(() =>
                _context.ReadObjectAsync(0x10, _sample, CancellationToken.None).GetAwaiter().GetResult());
            Assert.Contains("not a kernel address", user.Message);
        }

        [Fact]
        public void FindsBaseTypesByTheirCSpelling()
        {
            Assert.Equal(8UL, _context.FindType("unsigned long").Size);
            Assert.Equal("long unsigned int", _context.FindType("unsigned  long").Name);
        }

        [Fact]
        public void ShowsSmallStructsInline()
        {
            KernelObject o = Read();
            Assert.Equal("{next=0xffff888000002000, prev=0xffff888000001000}", o["node"]!.ToString());
            Assert.Equal("struct sample @ 0xffff888000001000", o.ToString());
        }
    }
}
