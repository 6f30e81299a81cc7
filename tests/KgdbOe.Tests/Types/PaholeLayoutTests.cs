using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using KgdbOe.Types;
using Xunit;
using Xunit.Abstractions;

namespace KgdbOe.Tests.Types
{
    /// <summary>
    /// Every member's offset, size and bit-field position of well-known kernel structs, as read by BtfTypeGraph, against
    /// what pahole's own BTF loader prints for the same blob (`pahole -F btf -C name file`).
    /// </summary>
    public sealed class PaholeLayoutTests
    {
        /// <summary>The structs compared; a struct a kernel does not have is left out, but at least 20 must be compared.</summary>
        public static readonly string[] Structs =
        {
            "task_struct", "list_head", "hlist_head", "hlist_node", "module", "file", "sk_buff", "mm_struct", "inode", "dentry",
            "super_block", "net_device", "page", "rq", "cred", "pid", "signal_struct", "kobject", "device", "vm_area_struct",
            "printk_ringbuffer", "prb_desc", "printk_info", "prb_desc_ring", "prb_data_ring", "prb_data_blk_lpos", "dev_printk_info",
            "kernel_param", "file_operations", "sock", "socket", "nsproxy", "files_struct", "fdtable", "qstr", "path", "mount",
            "vfsmount", "pt_regs", "thread_struct", "kref", "rb_node", "address_space", "timer_list", "hrtimer", "work_struct",
            "wait_queue_head", "mutex", "raw_spinlock", "kernfs_node", "bpf_prog", "module_kobject", "sched_entity", "rq_flags",
            "cfs_rq", "new_utsname", "uts_namespace", "irq_desc", "load_weight", "sk_buff_head", "tcp_sock",
        };

        private readonly ITestOutputHelper _output;

        public PaholeLayoutTests(ITestOutputHelper output) => _output = output;

        [BtfTheory("host")]
        [InlineData(BtfSources.HostPath)]
        public void Host_kernel_layouts_match_pahole(string path) => CompareAll(path);

        [BtfTheory("stock")]
        [InlineData("stock")]
        public void Debian_6_1_layouts_match_pahole(string _) => CompareAll(BtfSources.StockPath!);

        [BtfTheory("6.12")]
        [InlineData("6.12")]
        public void Lab_6_12_layouts_match_pahole(string series) => CompareAll(BtfSources.LabVmlinux(series)!);

        [BtfTheory("6.1")]
        [InlineData("6.1")]
        public void Lab_6_1_layouts_match_pahole(string series) => CompareAll(BtfSources.LabVmlinux(series)!);

        private void CompareAll(string path)
        {
            BtfTypeGraph graph = BtfTypeGraph.Parse(BtfSources.ReadBtf(path));
            var failures = new StringBuilder();
            int compared = 0, members = 0;
            Dictionary<string, List<PaholeMember>> byName = Pahole.RunMany(path, Structs);
            foreach (string name in Structs)
            {
                StructType? type = graph.FindStruct(name);
                byName.TryGetValue(name, out List<PaholeMember>? expected);
                if (type == null && expected == null) continue;
                if (type == null) { failures.AppendLine(name + ": pahole knows it, FindStruct does not"); continue; }
                if (expected == null) { failures.AppendLine(name + ": FindStruct found it, pahole printed nothing"); continue; }
                compared++;
                members += expected.Count;
                Compare(type, expected, failures);
            }
            _output.WriteLine($"{path}: {compared} structs, {members} members compared with pahole");
            Assert.True(failures.Length == 0, failures.ToString());
            Assert.True(compared >= 20, "only " + compared + " of the structs are in " + path);
        }

        private static void Compare(StructType type, List<PaholeMember> expected, StringBuilder failures)
        {
            IReadOnlyList<StructMember> actual = type.Members;
            if (actual.Count != expected.Count)
            {
                failures.AppendLine($"{type.Name}: {actual.Count} members, pahole lists {expected.Count}");
                return;
            }
            for (int i = 0; i < actual.Count; i++)
            {
                StructMember m = actual[i];
                PaholeMember p = expected[i];
                ulong size = m.Type.Size;
                string where = $"{type.Name}.{(m.Name.Length > 0 ? m.Name : "<anon " + i + ">")}";
                if (m.Name.Length > 0 && !Regex.IsMatch(p.Declaration, @"\b" + Regex.Escape(m.Name) + @"\b"))
                    failures.AppendLine($"{where}: pahole's member {i} is \"{p.Declaration}\"");
                if (m.Name.Length == 0 && !p.Declaration.Contains('{'))
                    failures.AppendLine($"{where}: anonymous here, pahole's member {i} is \"{p.Declaration}\"");
                if (size != p.Size) failures.AppendLine($"{where}: size {size}, pahole {p.Size}");
                if (m.IsBitField)
                {
                    // pahole gives a bit field as the offset of its storage unit (aligned to the type's size) and the bit in it.
                    ulong unitBits = size * 8;
                    ulong unitOffset = unitBits == 0 ? m.Offset : m.BitOffset / unitBits * unitBits / 8;
                    ulong bit = m.BitOffset - unitOffset * 8;
                    if (p.BitPosition == null) failures.AppendLine($"{where}: a {m.BitFieldSize}-bit field, pahole says no bit field");
                    else if (unitOffset != p.Offset || bit != (ulong)p.BitPosition || m.BitFieldSize != (uint?)p.BitWidth)
                        failures.AppendLine($"{where}: {unitOffset}:{bit} width {m.BitFieldSize}, pahole {p.Offset}:{p.BitPosition} width {p.BitWidth}");
                }
                else
                {
                    if (p.BitPosition != null) failures.AppendLine($"{where}: not a bit field, pahole says {p.Offset}:{p.BitPosition}");
                    if (m.Offset != p.Offset || m.BitOffset % 8 != 0) failures.AppendLine($"{where}: offset {m.Offset}, pahole {p.Offset}");
                }
            }
        }
    }
}
