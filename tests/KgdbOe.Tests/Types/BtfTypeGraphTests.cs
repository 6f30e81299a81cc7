using System;
using System.Linq;
using KgdbOe.Types;
using Xunit;

namespace KgdbOe.Tests.Types
{
    /// <summary>Every BTF kind, split BTF and the name lookups, on blobs written record by record (BtfBuilder).</summary>
    public sealed class BtfTypeGraphTests
    {
        private static (BtfTypeGraph Graph, BtfBuilder B, int[] Ids) Sample()
        {
            var b = new BtfBuilder();
            int ui = b.AddInt("unsigned int", 4);                                   // 1
            int ch = b.AddInt("char", 1, signed: true, isChar: true);               // 2
            int bo = b.AddInt("_Bool", 1, isBool: true, bits: 8);                   // 3
            int lh = b.AddStruct("list_head", 16, ("next", 5, 0, 0), ("prev", 5, 64, 0)); // 4
            int plh = b.AddRef(BtfBuilder.Ptr, lh);                                 // 5
            int cc = b.AddRef(BtfBuilder.Const, ch);                                // 6
            int pcc = b.AddRef(BtfBuilder.Ptr, cc);                                 // 7: const char *
            int pch = b.AddRef(BtfBuilder.Ptr, ch);                                 // 8: char *
            int cpch = b.AddRef(BtfBuilder.Const, pch);                             // 9: char * const
            int arr = b.AddArray(ch, ui, 16);                                       // 10: char [16]
            int u32 = b.AddRef(BtfBuilder.Typedef, ui, "u32");                      // 11
            int anon = b.AddUnion("", 8, ("a", ui, 0, 0), ("b", u32, 0, 0));        // 12
            int task = b.AddStruct("task", 48,                                       // 13
                ("list", lh, 0, 0), ("flag1", ui, 128, 1), ("flag2", ui, 129, 3), ("", anon, 192, 0), ("comm", arr, 256, 0));
            int e = b.AddEnum("state", 4, true, ("RUNNING", 0), ("DEAD", -1));      // 14
            int e64 = b.AddEnum64("big", false, ("HUGE", unchecked((long)0xffffffff00000001UL))); // 15
            int fwd = b.AddRef(BtfBuilder.Fwd, 0, "later");                         // 16 (struct)
            int proto = b.AddFuncProto(ui, ("fmt", pcc), ("", 0));                  // 17: unsigned int (const char *, ...)
            int fn = b.AddFunc("printk", proto);                                     // 18
            int pfn = b.AddRef(BtfBuilder.Ptr, proto);                              // 19
            int v = b.AddVar("runqueues", task);                                     // 20
            int ds = b.AddDatasec(".data..percpu", 64, (v, 16, 48));                // 21
            int fl = b.AddFloat("double", 8);                                        // 22
            int dt = b.AddDeclTag("user", task, 0);                                  // 23
            int tt = b.AddRef(BtfBuilder.TypeTag, lh, "rcu");                       // 24
            int ptt = b.AddRef(BtfBuilder.Ptr, tt);                                 // 25: struct list_head __rcu *
            int vol = b.AddRef(BtfBuilder.Volatile, ui);                            // 26
            int res = b.AddRef(BtfBuilder.Restrict, pch);                           // 27
            int parr = b.AddRef(BtfBuilder.Ptr, arr);                               // 28: char (*)[16]
            int ufwd = b.Type("lateru", BtfBuilder.Fwd, 0, true, 0);                // 29 (union)
            return (BtfTypeGraph.Parse(b.Build()), b, new[] { 0, ui, ch, bo, lh, plh, cc, pcc, pch, cpch, arr, u32, anon, task, e, e64, fwd, proto, fn, pfn, v, ds, fl, dt, tt, ptt, vol, res, parr, ufwd });
        }

        [Fact]
        public void Every_kind_reads_back_with_its_fields()
        {
            var (g, _, id) = Sample();
            Assert.Equal(30, g.Count);
            Assert.IsType<VoidType>(g[0]);
            var ui = Assert.IsType<IntType>(g[id[1]]);
            Assert.Equal(("unsigned int", 4UL, false, 32U), (ui.Name, ui.Size, ui.IsSigned, ui.Bits));
            var ch = Assert.IsType<IntType>(g[id[2]]);
            Assert.True(ch.IsSigned && ch.IsChar && !ch.IsBool);
            Assert.True(((IntType)g[id[3]]).IsBool);
            Assert.Equal(8UL, g[id[5]].Size);
            Assert.Same(g[id[4]], ((PointerType)g[id[5]]).Target);
            var arr = Assert.IsType<ArrayType>(g[id[10]]);
            Assert.Equal((16U, 16UL), (arr.Length, arr.Size));
            Assert.Same(ui, arr.IndexType);
            var td = Assert.IsType<TypedefType>(g[id[11]]);
            Assert.Equal(4UL, td.Size);
            Assert.Same(ui, td.Resolve());

            var e = Assert.IsType<EnumType>(g[id[14]]);
            Assert.True(e.IsSigned);
            Assert.Equal(-1, e.Values[1].Value);
            Assert.Equal("DEAD", e.NameOf(-1));
            Assert.Null(e.NameOf(5));
            var e64 = Assert.IsType<EnumType>(g[id[15]]);
            Assert.Equal(unchecked((long)0xffffffff00000001UL), e64.Values.Single().Value);
            Assert.Equal(KernelTypeKind.Enum, e64.Kind);

            Assert.False(Assert.IsType<ForwardType>(g[id[16]]).IsUnion);
            Assert.True(Assert.IsType<ForwardType>(g[id[29]]).IsUnion);
            var proto = Assert.IsType<FunctionProtoType>(g[id[17]]);
            Assert.True(proto.IsVariadic);
            Assert.Equal("fmt", proto.Parameters.Single().Name);
            var fn = Assert.IsType<FunctionType>(g[id[18]]);
            Assert.Same(proto, fn.Prototype);
            Assert.Equal(1U, fn.Linkage);
            var v = Assert.IsType<VariableType>(g[id[20]]);
            Assert.True(v.IsGlobal);
            Assert.Equal(48UL, v.Size);
            var ds = Assert.IsType<DataSectionType>(g[id[21]]);
            Assert.Equal((16U, 48U), (ds.Entries[0].Offset, ds.Entries[0].Size));
            Assert.Same(v, ds.Entries[0].Variable);
            Assert.Equal(8UL, Assert.IsType<FloatType>(g[id[22]]).Size);
            var dt = Assert.IsType<DeclTagType>(g[id[23]]);
            Assert.Equal(("user", 0), (dt.Name, dt.ComponentIndex));
            Assert.Equal(KernelTypeKind.TypeTag, g[id[24]].Kind);
            Assert.Equal(KernelTypeKind.Volatile, g[id[26]].Kind);
            Assert.Equal(KernelTypeKind.Restrict, g[id[27]].Kind);
            Assert.Equal(16UL, g[id[24]].Size);
        }

        [Fact]
        public void Members_give_bit_fields_and_anonymous_members_relative_to_the_outer_struct()
        {
            var (g, _, id) = Sample();
            var task = Assert.IsType<StructType>(g[id[13]]);
            Assert.Equal(new[] { "list", "flag1", "flag2", "", "comm" }, task.Members.Select(m => m.Name));
            StructMember flag2 = task.Members[2];
            Assert.Equal((129UL, 3U, 16UL, true), (flag2.BitOffset, flag2.BitFieldSize, flag2.Offset, flag2.IsBitField));
            Assert.False(task.Members[0].IsBitField);
            StructMember b = task.FindMember("b")!;
            Assert.Equal((24UL, "u32"), (b.Offset, b.Type.DisplayName));
            Assert.Equal(32UL, task.FindMember("comm")!.Offset);
            Assert.Null(task.FindMember("nothing"));
            Assert.True(((StructType)g[id[12]]).IsUnion);
        }

        [Fact]
        public void Display_names_are_C_spellings()
        {
            var (g, _, id) = Sample();
            Assert.Equal("struct list_head", g[id[4]].DisplayName);
            Assert.Equal("struct list_head *", g[id[5]].DisplayName);
            Assert.Equal("const char *", g[id[7]].DisplayName);
            Assert.Equal("char *const", g[id[9]].DisplayName);
            Assert.Equal("char [16]", g[id[10]].DisplayName);
            Assert.Equal("char comm[16]", g[id[10]].Declare("comm"));
            Assert.Equal("union {...}", g[id[12]].DisplayName);
            Assert.Equal("enum state", g[id[14]].DisplayName);
            Assert.Equal("unsigned int (*)(const char *, ...)", g[id[19]].DisplayName);
            Assert.Equal("unsigned int (*fn)(const char *, ...)", g[id[19]].Declare("fn"));
            Assert.Equal("unsigned int printk(const char *, ...)", g[id[18]].DisplayName);
            Assert.Equal("struct list_head *", g[id[25]].DisplayName); // type tags are attributes, not spelled
            Assert.Equal("volatile unsigned int", g[id[26]].DisplayName);
            Assert.Equal("char (*)[16]", g[id[28]].DisplayName);
            Assert.Equal("union lateru", g[id[29]].DisplayName);
            Assert.Equal("void", g[0].DisplayName);
            Assert.Equal(g[id[5]].DisplayName, g[id[5]].ToString());
        }

        [Fact]
        public void Names_are_found_by_bare_name_by_tag_and_with_stars()
        {
            var (g, _, id) = Sample();
            Assert.Same(g[id[13]], g.FindType("task"));
            Assert.Same(g[id[13]], g.FindType("struct task"));
            Assert.Same(g[id[13]], g.FindStruct("task"));
            Assert.Same(g[id[13]], g.FindStruct(" struct  task "));
            Assert.Null(g.FindType("union task"));
            Assert.Same(g[id[14]], g.FindType("enum state"));
            Assert.Same(g[id[1]], g.FindType("unsigned int"));
            Assert.Same(g[id[11]], g.FindType("u32"));
            Assert.Same(g[id[8]], g.FindType("char *"));
            Assert.Same(g[id[5]], g.FindType("struct list_head*"));
            KernelType made = g.FindType("struct list_head **")!;
            Assert.Equal((-1, "struct list_head **", 8UL), (made.Id, made.DisplayName, made.Size));
            Assert.Same(g[id[16]], g.FindType("struct later"));
            Assert.Same(g[id[29]], g.FindType("union lateru"));
            Assert.Null(g.FindType("struct lateru"));
            Assert.Same(g[id[20]], g.FindVariable("runqueues"));
            Assert.Same(g[id[18]], g.FindFunction("printk"));
            Assert.Null(g.FindFunction("task"));
            Assert.Null(g.FindType("no_such_type"));
            Assert.Equal(VoidType.Instance, g.FindType("void"));
            Assert.Equal("void *", g.FindType("void *")!.DisplayName);
            Assert.Equal(new[] { "_Bool", "big", "char", "double", "list_head", "state", "task", "u32", "unsigned int" }, g.TypeNames.ToArray());
        }

        [Fact]
        public void C_integer_spellings_find_the_DWARF_spellings_BTF_has()
        {
            var b = new BtfBuilder();
            int ul = b.AddInt("long unsigned int", 8);
            int ll = b.AddInt("long long int", 8, signed: true);
            int us = b.AddInt("short unsigned int", 2);
            int uc = b.AddInt("unsigned char", 1);
            int c = b.AddInt("char", 1, signed: true, isChar: true);
            int i = b.AddInt("int", 4, signed: true);
            var g = BtfTypeGraph.Parse(b.Build());
            Assert.Same(g[ul], g.FindType("unsigned long"));
            Assert.Same(g[ul], g.FindType("unsigned long int"));
            Assert.Same(g[ll], g.FindType("long long"));
            Assert.Same(g[ll], g.FindType("signed long long int"));
            Assert.Same(g[us], g.FindType("unsigned short"));
            Assert.Same(g[uc], g.FindType("unsigned char"));
            Assert.Same(g[c], g.FindType("char"));
            Assert.Same(g[i], g.FindType("signed"));
            Assert.Null(g.FindType("signed char"));   // not the same type as char
            Assert.Null(g.FindType("unsigned"));      // unsigned int is not in this BTF
            Assert.Null(g.FindType("long short"));
            Assert.Equal("long unsigned int *", g.FindType("unsigned long *")!.DisplayName);
        }

        [Fact]
        public void Split_BTF_continues_the_base_ids_and_strings()
        {
            var b = new BtfBuilder();
            int ui = b.AddInt("unsigned int", 4);
            int lh = b.AddStruct("list_head", 16, ("next", 3, 0, 0), ("prev", 3, 64, 0));
            b.AddRef(BtfBuilder.Ptr, lh);
            byte[] baseBlob = b.Build();
            BtfTypeGraph baseGraph = BtfTypeGraph.Parse(baseBlob);
            uint baseStrings = BitConverter.ToUInt32(baseBlob, 20);

            var m = new BtfBuilder(firstId: baseGraph.Count, firstString: baseStrings);
            int mod = m.AddStruct("kgdboe_state", 24, ("list", lh, 0, 0), ("port", ui, 128, 0));
            int pmod = m.AddRef(BtfBuilder.Ptr, mod);
            BtfTypeGraph split = BtfTypeGraph.Parse(m.Build(), baseGraph);

            Assert.Equal(4, mod);
            Assert.Equal(6, split.Count);
            var s = Assert.IsType<StructType>(split[mod]);
            Assert.Equal("kgdboe_state", s.Name);
            Assert.Same(baseGraph[lh], s.Members[0].Type);
            Assert.Equal("unsigned int", s.Members[1].Type.DisplayName);
            Assert.Same(baseGraph[lh], split.FindType("list_head"));
            Assert.Same(split[pmod], split.FindType("struct kgdboe_state *"));
            Assert.Same(baseGraph, split.BaseGraph);
            Assert.Contains("kgdboe_state", split.TypeNames);
            Assert.Contains("list_head", split.TypeNames);
            Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(m.Build())); // without its base the ids do not exist
        }

        [Fact]
        public void Old_style_bit_fields_come_from_the_int_type()
        {
            var b = new BtfBuilder();
            int bits3 = b.AddInt("unsigned int", 4, bits: 3, offset: 2);
            b.AddStruct("s", 4, ("f", bits3, 8, 0)); // no kind_flag: the member offset is in bits, the int says the width
            var s = BtfTypeGraph.Parse(b.Build()).FindStruct("s")!;
            Assert.Equal((10UL, 3U), (s.Members[0].BitOffset, s.Members[0].BitFieldSize));
        }

        [Theory]
        [InlineData(new byte[] { 0xeb, 0x9f, 1, 0, 0, 0, 0, 24 }, "0x0: big-endian")]
        [InlineData(new byte[] { 0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0 }, "0x0: magic is 0x457f")]
        [InlineData(new byte[] { 0x9f }, "only 1 bytes")]
        [InlineData(new byte[] { 0x9f, 0xeb, 2, 0, 24, 0, 0, 0 }, "0x2: version 2")]
        [InlineData(new byte[] { 0x9f, 0xeb, 1, 0, 16, 0, 0, 0 }, "0x4: hdr_len 16")]
        [InlineData(new byte[] { 0x9f, 0xeb, 1, 0, 24, 0, 0, 0 }, "hdr_len 24 runs past the end")]
        public void Bad_headers_say_where_and_what(byte[] data, string expected)
        {
            var e = Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(data));
            Assert.Contains(expected, e.Message);
        }

        [Fact]
        public void Corrupt_records_say_where_and_what()
        {
            var b = new BtfBuilder();
            b.AddRef(BtfBuilder.Ptr, 7); // a type id past the end
            var e = Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(b.Build()));
            Assert.Contains("BTF at offset 0x20: type 1 (PTR) refers to type 7, but there are only 2 type ids", e.Message);
            Assert.Equal(0x20, e.Offset);

            b = new BtfBuilder();
            b.AddRef(BtfBuilder.Typedef, 2, "a");
            b.AddRef(BtfBuilder.Const, 1);
            e = Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(b.Build()));
            Assert.Contains("reference cycle", e.Message);

            b = new BtfBuilder();
            b.Type("x", 25, 0, false, 0);
            Assert.Contains("unknown kind 25", Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(b.Build())).Message);

            b = new BtfBuilder();
            b.AddInt("int", 4);
            b.AddFunc("f", 1); // FUNC must refer to a FUNC_PROTO
            Assert.Contains("not FUNC_PROTO", Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(b.Build())).Message);

            byte[] blob = new BtfBuilder().Build();
            blob[blob.Length - 1] = (byte)'x';
            Assert.Contains("does not end with a NUL", Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(blob)).Message);

            b = new BtfBuilder();
            b.AddStruct("s", 8, ("m", 1, 0, 0), ("n", 1, 32, 0));
            blob = b.Build();
            Array.Resize(ref blob, blob.Length);
            BitConverter.GetBytes(100u).CopyTo(blob, 12); // type_len cut to 100 bytes: the struct's members stick out
            BitConverter.GetBytes(100u).CopyTo(blob, 16);
            BitConverter.GetBytes((uint)(blob.Length - 124)).CopyTo(blob, 20);
            Assert.Throws<BtfFormatException>(() => BtfTypeGraph.Parse(blob));
        }
    }
}
