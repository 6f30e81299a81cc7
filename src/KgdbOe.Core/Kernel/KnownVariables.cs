using System;
using System.Collections.Generic;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// The types of well-known kernel globals. vmlinux BTF has VAR entries only for per-CPU variables, so for other globals
    /// the type must come from somewhere else: this table, each row naming the declaration it copies (6.1 and 6.12 agree).
    /// </summary>
    public static class KnownVariables
    {
        /// <summary>One global: its name, its C type as BTF spells it, where the kernel declares it.</summary>
        public sealed class Row
        {
            internal Row(string name, string type, string declaredIn)
            {
                Name = name;
                Type = type;
                DeclaredIn = declaredIn;
            }

            /// <summary>The symbol.</summary>
            public string Name { get; }

            /// <summary>The type name to look up in BTF.</summary>
            public string Type { get; }

            /// <summary>The kernel source file that defines it.</summary>
            public string DeclaredIn { get; }
        }

        private static readonly Row[] Rows =
        {
            new Row("init_task", "struct task_struct", "init/init_task.c: struct task_struct init_task"),
            new Row("jiffies", "unsigned long", "include/linux/jiffies.h: extern unsigned long volatile jiffies"),
            new Row("jiffies_64", "u64", "kernel/time/timer.c: u64 jiffies_64"),
            new Row("prb", "struct printk_ringbuffer *", "kernel/printk/printk.c: struct printk_ringbuffer *prb"),
            new Row("printk_rb_static", "struct printk_ringbuffer", "kernel/printk/printk.c: DEFINE_PRINTKRB(printk_rb_static, ...)"),
            new Row("modules", "struct list_head", "kernel/module/main.c: LIST_HEAD(modules)"),
            new Row("init_pid_ns", "struct pid_namespace", "kernel/pid.c: struct pid_namespace init_pid_ns"),
            new Row("init_uts_ns", "struct uts_namespace", "init/version.c: struct uts_namespace init_uts_ns"),
            new Row("init_mm", "struct mm_struct", "mm/init-mm.c: struct mm_struct init_mm"),
            new Row("init_net", "struct net", "net/core/net_namespace.c: struct net init_net"),
            new Row("init_nsproxy", "struct nsproxy", "kernel/nsproxy.c: struct nsproxy init_nsproxy"),
            new Row("init_cred", "struct cred", "kernel/cred.c: struct cred init_cred"),
            new Row("nr_cpu_ids", "unsigned int", "kernel/smp.c: unsigned int nr_cpu_ids"),
            new Row("nr_threads", "int", "kernel/fork.c: int nr_threads"),
            new Row("total_forks", "unsigned long", "kernel/fork.c: unsigned long total_forks"),
            new Row("pid_max", "int", "kernel/pid.c: int pid_max"),
            new Row("panic_timeout", "int", "kernel/panic.c: int panic_timeout"),
            new Row("loops_per_jiffy", "unsigned long", "init/calibrate.c: unsigned long loops_per_jiffy"),
            new Row("system_state", "enum system_states", "init/main.c: enum system_states system_state"),
            new Row("__cpu_online_mask", "struct cpumask", "kernel/cpu.c: struct cpumask __cpu_online_mask"),
            new Row("__cpu_possible_mask", "struct cpumask", "kernel/cpu.c: struct cpumask __cpu_possible_mask"),
        };

        private static readonly Dictionary<string, Row> ByName = CreateIndex();

        private static Dictionary<string, Row> CreateIndex()
        {
            var index = new Dictionary<string, Row>(StringComparer.Ordinal);
            foreach (Row row in Rows) index.Add(row.Name, row);
            return index;
        }

        /// <summary>The rows of the table.</summary>
        public static IReadOnlyList<Row> All => Rows;

        /// <summary>The row for <paramref name="name"/>, or null.</summary>
        public static Row? Find(string name) => name != null && ByName.TryGetValue(name, out Row? row) ? row : null;
    }
}
