using System;
using System.Collections.Generic;

namespace KgdbOe.Capture
{
    /// <summary>One System RAM range of a core: physical start and length in bytes, where it was read (direct map) and how many of its pages could not be read.</summary>
    public sealed class CoreRange
    {
        /// <summary>A range of <paramref name="length"/> bytes at physical <paramref name="physicalAddress"/>, read at virtual <paramref name="virtualAddress"/>.</summary>
        public CoreRange(ulong physicalAddress, ulong length, ulong virtualAddress)
        {
            PhysicalAddress = physicalAddress;
            Length = length;
            VirtualAddress = virtualAddress;
        }

        /// <summary>The first physical byte (p_paddr).</summary>
        public ulong PhysicalAddress { get; }

        /// <summary>Bytes (p_filesz = p_memsz).</summary>
        public ulong Length { get; }

        /// <summary>One past the last physical byte.</summary>
        public ulong End => PhysicalAddress + Length;

        /// <summary>Its address in the kernel's direct map (page_offset_base + physical; p_vaddr).</summary>
        public ulong VirtualAddress { get; }

        /// <summary>Where its bytes start in the file (p_offset).</summary>
        public ulong FileOffset { get; internal set; }

        /// <summary>Pages of it that could not be read (written as zeros).</summary>
        public int UnreadablePages { get; internal set; }

        /// <inheritdoc/>
        public override string ToString() => $"0x{PhysicalAddress:x}-0x{End - 1:x}";
    }

    /// <summary>
    /// What Export-KernelCore wrote: the file, its System RAM ranges, bytes, the pages that could not be read (physical
    /// addresses of 4 KiB pages written as zeros), the CPUs whose registers are in it, how long it took and the rate.
    /// </summary>
    public sealed class KernelCoreSummary
    {
        internal KernelCoreSummary(string path, KernelCorePlan plan, long fileBytes, IReadOnlyList<ulong> unreadable, int unreadableCount, TimeSpan elapsed)
        {
            Path = path;
            Ranges = plan.Ranges;
            Cpus = plan.Cpus.Count;
            KernelRelease = plan.VmcoreInfo.Release ?? "";
            FileBytes = fileBytes;
            UnreadablePages = unreadable;
            UnreadablePageCount = unreadableCount;
            Elapsed = elapsed;
            RamSource = plan.RamSource;
            PageOffset = plan.PageOffset;
            KernelOffset = plan.VmcoreInfo.KernelOffset ?? 0;
            foreach (CoreRange r in Ranges) RamBytes += (long)r.Length;
        }

        /// <summary>The core file written.</summary>
        public string Path { get; internal set; }

        /// <summary>The System RAM ranges, each a PT_LOAD.</summary>
        public IReadOnlyList<CoreRange> Ranges { get; }

        /// <summary>How many System RAM ranges.</summary>
        public int RangeCount => Ranges.Count;

        /// <summary>Bytes of memory saved (the sum of the ranges).</summary>
        public long RamBytes { get; }

        /// <summary>The size of the file in bytes.</summary>
        public long FileBytes { get; }

        /// <summary>Physical addresses of the pages that could not be read (at most the first 1024 are listed).</summary>
        public IReadOnlyList<ulong> UnreadablePages { get; }

        /// <summary>How many pages could not be read.</summary>
        public int UnreadablePageCount { get; }

        /// <summary>NT_PRSTATUS notes written (one per online CPU).</summary>
        public int Cpus { get; }

        /// <summary>The kernel release its vmcoreinfo names (OSRELEASE).</summary>
        public string KernelRelease { get; }

        /// <summary>Where the System RAM ranges came from: "iomem_resource" (the kernel's resource tree).</summary>
        public string RamSource { get; }

        /// <summary>The start of the kernel's direct map (page_offset_base).</summary>
        public ulong PageOffset { get; }

        /// <summary>The KASLR offset of the kernel text (KERNELOFFSET).</summary>
        public ulong KernelOffset { get; }

        /// <summary>Wall time of the capture.</summary>
        public TimeSpan Elapsed { get; }

        /// <summary>Memory bytes per second (RamBytes / Elapsed).</summary>
        public double BytesPerSecond => Elapsed.TotalSeconds > 0 ? RamBytes / Elapsed.TotalSeconds : 0;

        /// <summary>The rate in MiB/s, for the views.</summary>
        public double MiBPerSecond => Math.Round(BytesPerSecond / (1024 * 1024), 2);

        /// <summary>The memory saved in MiB, for the views.</summary>
        public double RamMiB => Math.Round(RamBytes / (1024.0 * 1024), 1);

        /// <inheritdoc/>
        public override string ToString() => Path;
    }
}
