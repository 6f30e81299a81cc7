using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>A loaded module as /proc/modules shows it (kernel/module/procfs.c m_show()).</summary>
    public sealed class KernelModuleInfo
    {
        internal KernelModuleInfo(KernelObject module, ulong textBase, ulong size, int? refCount)
        {
            Address = module.Address;
            Name = module.GetString("name");
            StateValue = module.GetMember("state") as KernelEnumValue;
            Base = textBase;
            Size = size;
            RefCount = refCount;
        }

        /// <summary>The address of its struct module.</summary>
        public ulong Address { get; }

        /// <summary>module->name.</summary>
        public string Name { get; }

        /// <summary>module->state (enum module_state).</summary>
        public KernelEnumValue? StateValue { get; }

        /// <summary>The state as /proc/modules words it: Live, Loading (COMING), Unloading (GOING), Unformed.</summary>
        public string State => StateValue?.Name switch
        {
            "MODULE_STATE_LIVE" => "Live",
            "MODULE_STATE_COMING" => "Loading",
            "MODULE_STATE_GOING" => "Unloading",
            "MODULE_STATE_UNFORMED" => "Unformed",
            _ => StateValue?.ToString() ?? "?",
        };

        /// <summary>Where its code starts: mem[MOD_TEXT].base (6.4+) or core_layout.base (before), as /proc/modules prints.</summary>
        public ulong Base { get; }

        /// <summary>The size /proc/modules prints: the sum of mem[].size (6.4+), or init_layout.size + core_layout.size (before).</summary>
        public ulong Size { get; }

        /// <summary>module_refcount(): refcnt - MODULE_REF_BASE (CONFIG_MODULE_UNLOAD), else null.</summary>
        public int? RefCount { get; }
    }

    /// <summary>
    /// Walks the <c>modules</c> list (kernel/module/main.c) of struct module (include/linux/module.h), one read of
    /// sizeof(struct module) per module. Reads base and size the way /proc/modules does in 6.4+ (struct module_memory
    /// mem[MOD_MEM_NUM_TYPES]) and before (struct module_layout core_layout/init_layout[/data_layout]).
    /// </summary>
    public sealed class KernelModules
    {
        private readonly KernelContext _context;
        private readonly StructType _module;
        private readonly bool _hasMem;

        /// <summary>Learns the layout from BTF.</summary>
        public KernelModules(KernelContext context)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _module = context.FindStruct("struct module");
            _hasMem = context.GetLayout(_module).Find("mem") != null;
            if (!_hasMem && context.GetLayout(_module).Find("core_layout") == null)
                throw new KernelMemberNotFoundException(_module.DisplayName, "mem");
        }

        /// <summary>The struct module type.</summary>
        public StructType ModuleType => _module;

        /// <summary>Every module in list order (newest first); added to <paramref name="sink"/> as read, so an error keeps the ones before.</summary>
        public async Task ListAsync(ICollection<KernelModuleInfo> sink, CancellationToken ct)
        {
            KernelListWalker walker = KernelListWalker.ForList(_context, _context.GetSymbolAddress("modules"), _module, "list");
            for (KernelObject? m = await walker.NextAsync(ct).ConfigureAwait(false); m != null; m = await walker.NextAsync(ct).ConfigureAwait(false))
                sink.Add(Describe(m));
        }

        /// <summary>The /proc/modules facts of one struct module.</summary>
        public KernelModuleInfo Describe(KernelObject module)
        {
            ulong textBase, size = 0;
            if (_hasMem)
            {
                textBase = module.GetUInt64("mem[0].base"); // MOD_TEXT = 0
                if (module.GetMember("mem") is object?[] mems)
                    foreach (object? mem in mems)
                        if (mem is KernelObject o) size += o.GetUInt64("size");
            }
            else
            {
                textBase = module.GetUInt64("core_layout.base");
                size = module.GetUInt64("core_layout.size") + module.GetUInt64("init_layout.size");
                if (module.HasMember("data_layout")) size += module.GetUInt64("data_layout.size"); // CONFIG_ARCH_WANTS_MODULES_DATA_IN_VMALLOC
            }
            int? refCount = module.HasMember("refcnt") ? (int)module.GetInt64("refcnt.counter") - 1 : (int?)null; // MODULE_REF_BASE 1
            return new KernelModuleInfo(module, textBase, size, refCount);
        }
    }
}
