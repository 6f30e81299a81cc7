using System;
using System.IO;
using KgdbOe.Types;
using Xunit;
using Xunit.Abstractions;

namespace KgdbOe.Tests.Types
{
    /// <summary>
    /// Truncated and bit-flipped BTF: Parse either throws BtfFormatException or gives a graph whose every type can be
    /// walked (names, sizes, members, values, parameters, entries) with nothing but BtfFormatException — never
    /// IndexOutOfRange, NullReference, InvalidCast, a stack overflow or a hang.
    /// </summary>
    public sealed class BtfFuzzTests
    {
        private readonly ITestOutputHelper _output;

        public BtfFuzzTests(ITestOutputHelper output) => _output = output;

        private static byte[] SampleBlob()
        {
            var b = new BtfBuilder();
            int ui = b.AddInt("unsigned int", 4);
            int ch = b.AddInt("char", 1, signed: true, isChar: true);
            int lh = b.AddStruct("list_head", 16, ("next", 4, 0, 0), ("prev", 4, 64, 0));
            b.AddRef(BtfBuilder.Ptr, lh);
            int arr = b.AddArray(ch, ui, 16);
            int td = b.AddRef(BtfBuilder.Typedef, ui, "u32");
            int anon = b.AddUnion("", 8, ("a", ui, 0, 0), ("b", td, 0, 0));
            int s = b.AddStruct("task", 48, ("list", lh, 0, 0), ("f", ui, 128, 1), ("", anon, 192, 0), ("comm", arr, 256, 0));
            b.AddEnum("state", 4, true, ("RUNNING", 0), ("DEAD", -1));
            b.AddEnum64("big", false, ("HUGE", 5));
            int cc = b.AddRef(BtfBuilder.Const, ch);
            int pcc = b.AddRef(BtfBuilder.Ptr, cc);
            int proto = b.AddFuncProto(ui, ("fmt", pcc), ("", 0));
            b.AddFunc("printk", proto);
            b.AddRef(BtfBuilder.Ptr, proto);
            int v = b.AddVar("runqueues", s);
            b.AddDatasec(".data..percpu", 64, (v, 16, 48));
            b.AddFloat("double", 8);
            b.AddDeclTag("user", s, 0);
            b.AddRef(BtfBuilder.TypeTag, lh, "rcu");
            b.AddRef(BtfBuilder.Fwd, 0, "later");
            return b.Build();
        }

        /// <summary>Parses and touches everything; returns false when Parse rejected the blob.</summary>
        private static bool ParseAndWalk(byte[] data)
        {
            BtfTypeGraph graph;
            try
            {
                graph = BtfTypeGraph.Parse(data);
            }
            catch (BtfFormatException)
            {
                return false;
            }
            try
            {
                Walk(graph);
            }
            catch (BtfFormatException)
            {
            }
            return true;
        }

        private static void Walk(BtfTypeGraph graph)
        {
            for (int id = 0; id < graph.Count; id++)
            {
                KernelType t = graph[id];
                _ = t.DisplayName;
                _ = t.Size;
                _ = t.Resolve().Declare("x");
                switch (t)
                {
                    case StructType s:
                        foreach (StructMember m in s.Members) { _ = m.Type.DisplayName; _ = m.Offset; }
                        s.FindMember("no such member");
                        break;
                    case EnumType e:
                        foreach (EnumValue v in e.Values) _ = v.Name;
                        e.NameOf(0);
                        break;
                    case FunctionProtoType p:
                        foreach (FunctionParameter a in p.Parameters) _ = a.ToString();
                        break;
                    case FunctionType f:
                        _ = f.Prototype.ReturnType;
                        break;
                    case DataSectionType d:
                        foreach (DataSectionEntry e in d.Entries) _ = e.Variable.Type;
                        break;
                    case DeclTagType dt:
                        _ = dt.Target;
                        break;
                }
            }
            foreach (string name in graph.TypeNames) graph.FindType(name);
            graph.FindType("struct task_struct **");
            graph.FindVariable("runqueues");
            graph.FindFunction("printk");
        }

        [Fact]
        public void Every_truncation_and_every_bit_flip_of_a_small_blob_is_rejected_or_readable()
        {
            byte[] blob = SampleBlob();
            Assert.True(ParseAndWalk(blob));
            for (int length = 0; length < blob.Length; length++)
            {
                byte[] cut = new byte[length];
                Array.Copy(blob, cut, length);
                Assert.False(ParseAndWalk(cut), "a blob cut to " + length + " bytes was accepted");
            }
            int accepted = 0;
            for (int bit = 0; bit < blob.Length * 8; bit++)
            {
                byte[] flipped = (byte[])blob.Clone();
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                if (ParseAndWalk(flipped)) accepted++;
            }
            _output.WriteLine($"{blob.Length * 8} bit flips of a {blob.Length}-byte blob: {accepted} still valid BTF, all walked");
        }

        [Fact]
        public void Random_damage_to_a_real_kernel_blob_is_rejected_or_readable()
        {
            string? path = File.Exists(BtfSources.HostPath) ? BtfSources.HostPath : BtfSources.StockPath;
            if (path == null)
            {
                if (BtfSources.Required) Assert.Fail("no real BTF: neither " + BtfSources.HostPath + " nor Debian's (tests/lab/fetch-stock-btf.sh)");
                _output.WriteLine("no real BTF here: only the small blob was fuzzed");
                return;
            }
            byte[] blob = BtfSources.ReadBtf(path);
            var random = new Random(20261130);
            int truncatedRejected = 0, flippedAccepted = 0;
            for (int i = 0; i < 8; i++)
            {
                byte[] cut = new byte[random.Next(blob.Length)];
                Array.Copy(blob, cut, cut.Length);
                if (!ParseAndWalk(cut)) truncatedRejected++;
            }
            for (int i = 0; i < 8; i++)
            {
                byte[] flipped = (byte[])blob.Clone();
                for (int k = 0; k < 1 + i % 3; k++)
                {
                    // Half the flips land in the header and type records, where they matter most.
                    int at = random.Next(2) == 0 ? random.Next(Math.Min(blob.Length, 64)) : random.Next(blob.Length);
                    flipped[at] ^= (byte)(1 << random.Next(8));
                }
                if (ParseAndWalk(flipped)) flippedAccepted++;
            }
            _output.WriteLine($"{path}: 8 truncations ({truncatedRejected} rejected), 8 damaged copies ({flippedAccepted} still valid and walked)");
            Assert.Equal(8, truncatedRejected);
        }
    }
}
