using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Kernel;
using KgdbOe.Symbols;
using KgdbOe.Types;

namespace KgdbOe.Capture
{
    /// <summary>One CPU of a core: its id, the pid it runs (0 for its idle task) and its registers.</summary>
    public sealed class CoreCpu
    {
        internal CoreCpu(int cpu, int pid, IReadOnlyDictionary<string, ulong> registers)
        {
            Cpu = cpu;
            Pid = pid;
            Registers = registers;
        }

        /// <summary>The CPU id.</summary>
        public int Cpu { get; }

        /// <summary>The pid of the task current on it.</summary>
        public int Pid { get; }

        /// <summary>Its registers by gdb's names (rax ... gs_base).</summary>
        public IReadOnlyDictionary<string, ulong> Registers { get; }
    }

    /// <summary>
    /// Everything a core holds besides the memory itself, read from the stopped kernel before the first memory byte:
    /// the vmcoreinfo, the System RAM ranges, the direct map's base, the kernel text mapping and the CPUs.
    /// </summary>
    public sealed class KernelCorePlan
    {
        /// <summary>x86-64's __START_KERNEL_map (arch/x86/include/asm/page_64_types.h): where the kernel image is mapped.</summary>
        public const ulong StartKernelMap = 0xffffffff80000000UL;

        /// <summary>The direct map's base without KASLR's memory randomization (4-level paging).</summary>
        public const ulong DefaultPageOffset = 0xffff888000000000UL;

        /// <summary>The page size of x86-64.</summary>
        public const ulong PageSize = 4096;

        private KernelCorePlan(VmcoreInfo info, IReadOnlyList<CoreRange> ranges, string ramSource, ulong pageOffset, ulong physBase,
            IReadOnlyList<CoreCpu> cpus, ulong textStart, ulong textEnd)
        {
            VmcoreInfo = info;
            Ranges = ranges;
            RamSource = ramSource;
            PageOffset = pageOffset;
            PhysBase = physBase;
            Cpus = cpus;
            TextStart = textStart;
            TextEnd = textEnd;
        }

        /// <summary>A plan made from parts (tests, and cores of images that are not live kernels).</summary>
        internal static KernelCorePlan Create(VmcoreInfo info, IReadOnlyList<CoreRange> ranges, ulong pageOffset, ulong physBase,
            IReadOnlyList<CoreCpu> cpus, ulong textStart, ulong textEnd) =>
            new KernelCorePlan(info, ranges, "test", pageOffset, physBase, cpus, textStart, textEnd);

        /// <summary>The kernel's vmcoreinfo.</summary>
        public VmcoreInfo VmcoreInfo { get; }

        /// <summary>The System RAM ranges in physical address order.</summary>
        public IReadOnlyList<CoreRange> Ranges { get; }

        /// <summary>Where the ranges came from.</summary>
        public string RamSource { get; }

        /// <summary>page_offset_base: the virtual address of physical 0 in the direct map.</summary>
        public ulong PageOffset { get; }

        /// <summary>phys_base: physical = virtual - __START_KERNEL_map + phys_base for the kernel image.</summary>
        public ulong PhysBase { get; }

        /// <summary>The online CPUs.</summary>
        public IReadOnlyList<CoreCpu> Cpus { get; }

        /// <summary>The kernel text mapping's first virtual byte (_text, page aligned), or 0 when unknown.</summary>
        public ulong TextStart { get; }

        /// <summary>One past its last byte (_end, page aligned).</summary>
        public ulong TextEnd { get; }

        /// <summary>
        /// Reads the plan from a stopped kernel. <paramref name="symbols"/> are the run-time (KASLR-applied) symbols;
        /// <paramref name="types"/> (the kernel's BTF) give struct resource's and the per-CPU current task's layouts.
        /// Throws <see cref="KernelCoreException"/> (NoVmcoreInfo, NoSystemRam) and the target's read errors.
        /// </summary>
        public static async Task<KernelCorePlan> ReadAsync(ICoreTarget target, SymbolTable symbols, BtfTypeGraph types, CancellationToken ct)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (symbols == null) throw new ArgumentNullException(nameof(symbols));
            if (types == null) throw new ArgumentNullException(nameof(types));
            var context = new KernelContext(types, target, symbols);

            VmcoreInfo info = await ReadVmcoreInfoAsync(context, ct).ConfigureAwait(false);

            ulong pageOffset = DefaultPageOffset;
            if (symbols.TryGetAddress("page_offset_base", out ulong pob))
                pageOffset = await context.ReadUInt64Async(pob, "unsigned long page_offset_base", ct).ConfigureAwait(false);

            ulong physBase = info.PhysBase ?? (symbols.TryGetAddress("phys_base", out ulong pb)
                ? await context.ReadUInt64Async(pb, "unsigned long phys_base", ct).ConfigureAwait(false) : 0);

            List<CoreRange> ranges = await ReadSystemRamAsync(context, pageOffset, ct).ConfigureAwait(false);
            if (ranges.Count == 0)
                throw new KernelCoreException(KernelCoreFailure.NoSystemRam, "The kernel's resource tree (iomem_resource) lists no \"System RAM\" range.");

            var cpus = new List<CoreCpu>();
            ulong[] perCpu = await context.GetPerCpuOffsetsAsync(ct).ConfigureAwait(false);
            foreach (KernelTaskInfo task in await new KernelTasks(context).CurrentAsync(ct).ConfigureAwait(false))
            {
                int cpu = task.CurrentOnCpu ?? 0;
                var registers = new Dictionary<string, ulong>(StringComparer.Ordinal);
                foreach (KeyValuePair<string, ulong> r in await target.ReadCpuRegistersAsync(cpu, ct).ConfigureAwait(false)) registers[r.Key] = r.Value;
                // KGDB's g packet has no gs_base; in the kernel it is the CPU's per-CPU offset (arch/x86/kernel/setup_percpu.c).
                if ((!registers.TryGetValue("gs_base", out ulong gs) || gs == 0) && cpu < perCpu.Length) registers["gs_base"] = perCpu[cpu];
                cpus.Add(new CoreCpu(cpu, task.Pid, registers));
            }

            ulong textStart = 0, textEnd = 0;
            if (symbols.TryGetAddress("_text", out ulong text) && symbols.TryGetAddress("_end", out ulong end) && end > text)
            {
                textStart = text & ~(PageSize - 1);
                textEnd = (end + PageSize - 1) & ~(PageSize - 1);
            }
            return new KernelCorePlan(info, ranges, "iomem_resource", pageOffset, physBase, cpus, textStart, textEnd);
        }

        /// <summary>
        /// The vmcoreinfo text: vmcoreinfo_size bytes at vmcoreinfo_data (kernel/vmcore_info.c, 6.1's kernel/crash_core.c),
        /// filled at boot by crash_save_vmcoreinfo_init().
        /// </summary>
        private static async Task<VmcoreInfo> ReadVmcoreInfoAsync(KernelContext context, CancellationToken ct)
        {
            if (!context.TryGetSymbolAddress("vmcoreinfo_data", out ulong dataVar) || !context.TryGetSymbolAddress("vmcoreinfo_size", out ulong sizeVar))
                throw new KernelCoreException(KernelCoreFailure.NoVmcoreInfo,
                    "The kernel has no vmcoreinfo (no vmcoreinfo_data/vmcoreinfo_size symbols): it was built without CONFIG_VMCORE_INFO (6.12) / CONFIG_CRASH_CORE (6.1), and crash and drgn need it.");
            ulong data = await context.ReadUInt64Async(dataVar, "unsigned char *vmcoreinfo_data", ct).ConfigureAwait(false);
            ulong size = await context.ReadUInt64Async(sizeVar, "size_t vmcoreinfo_size", ct).ConfigureAwait(false);
            if (data == 0 || size == 0 || size > 65536)
                throw new KernelCoreException(KernelCoreFailure.NoVmcoreInfo,
                    $"The kernel's vmcoreinfo is empty (vmcoreinfo_data 0x{data:x16}, vmcoreinfo_size {size}): crash_save_vmcoreinfo_init() did not run.");
            byte[] bytes = await context.ReadBytesAsync(data, (int)size, "vmcoreinfo_data", ct).ConfigureAwait(false);
            var info = new VmcoreInfo(bytes);
            if (info.Release == null)
                throw new KernelCoreException(KernelCoreFailure.NoVmcoreInfo, $"The kernel's vmcoreinfo at 0x{data:x16} has no OSRELEASE line: not a vmcoreinfo.");
            return info;
        }

        /// <summary>
        /// The top-level children of iomem_resource named "System RAM" (what /proc/iomem lists at its left margin;
        /// kernel/resource.c), walked through struct resource's start, end, name, sibling and child.
        /// </summary>
        private static async Task<List<CoreRange>> ReadSystemRamAsync(KernelContext context, ulong pageOffset, CancellationToken ct)
        {
            StructType resource = context.FindStruct("struct resource");
            ulong startAt = context.FindField(resource, "start").Offset;
            ulong endAt = context.FindField(resource, "end").Offset;
            ulong nameAt = context.FindField(resource, "name").Offset;
            ulong siblingAt = context.FindField(resource, "sibling").Offset;
            ulong childAt = context.FindField(resource, "child").Offset;
            int size = (int)resource.Size;

            ulong root = context.GetSymbolAddress("iomem_resource");
            byte[] rootBytes = await context.ReadBytesAsync(root, size, "struct resource iomem_resource", ct).ConfigureAwait(false);
            ulong node = BinaryPrimitives.ReadUInt64LittleEndian(rootBytes.AsSpan((int)childAt));
            var ranges = new List<CoreRange>();
            var seen = new HashSet<ulong>();
            while (node != 0)
            {
                if (!seen.Add(node) || seen.Count > 4096)
                    throw new KernelListCycleException(root + childAt, node, seen.Count);
                byte[] r = await context.ReadBytesAsync(node, size, "struct resource", ct).ConfigureAwait(false);
                ulong start = BinaryPrimitives.ReadUInt64LittleEndian(r.AsSpan((int)startAt));
                ulong end = BinaryPrimitives.ReadUInt64LittleEndian(r.AsSpan((int)endAt));
                ulong name = BinaryPrimitives.ReadUInt64LittleEndian(r.AsSpan((int)nameAt));
                if (name != 0 && end > start && await ReadNameAsync(context, name, ct).ConfigureAwait(false) == "System RAM")
                {
                    // Whole pages only: a core's PT_LOADs are read and mapped by page.
                    ulong first = (start + PageSize - 1) & ~(PageSize - 1);
                    ulong last = (end + 1) & ~(PageSize - 1);
                    if (last > first) ranges.Add(new CoreRange(first, last - first, pageOffset + first));
                }
                node = BinaryPrimitives.ReadUInt64LittleEndian(r.AsSpan((int)siblingAt));
            }
            ranges.Sort((a, b) => a.PhysicalAddress.CompareTo(b.PhysicalAddress));
            return ranges;
        }

        private static async Task<string> ReadNameAsync(KernelContext context, ulong address, CancellationToken ct)
        {
            byte[] b = await context.ReadBytesAsync(address, 16, "const char *resource.name", ct).ConfigureAwait(false);
            int n = Array.IndexOf(b, (byte)0);
            return Encoding.ASCII.GetString(b, 0, n < 0 ? b.Length : n);
        }
    }
}
