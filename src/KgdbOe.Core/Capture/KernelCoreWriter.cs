using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Capture
{
    /// <summary>
    /// Writes a kernel core in the layout of the kernel's own /proc/vmcore (fs/proc/vmcore.c) and kexec-tools' x86-64
    /// ELF headers: one PT_NOTE (NT_PRSTATUS "CORE" per CPU, then "VMCOREINFO"), a PT_LOAD for the kernel image at
    /// __START_KERNEL_map + offset (its bytes are those of the System RAM range that holds it, so its p_offset points
    /// there), and one PT_LOAD per System RAM range with p_paddr the physical address and p_vaddr its direct-map address.
    /// Memory is streamed from the target into the file in address order; only one chunk is held at a time.
    /// The ELF magic is written last: a file whose write did not finish is not an ELF file.
    /// </summary>
    public static class KernelCoreWriter
    {
        /// <summary>How many unreadable page addresses a summary lists (all are counted).</summary>
        public const int MaxListedPages = 1024;

        private static readonly byte[] ZeroPage = new byte[KernelCorePlan.PageSize];

        /// <summary>
        /// Writes <paramref name="plan"/>'s core to <paramref name="output"/> (seekable, positioned at 0), reading memory
        /// through <paramref name="target"/>. <paramref name="progress"/> gets the memory bytes done so far. Pages the target
        /// refuses (a <see cref="TargetErrorException"/>) are written as zeros and listed; any other failure (timeout,
        /// cancellation, the disk) ends the write with the file's magic still unwritten. A full disk is a
        /// <see cref="KernelCoreException"/> with <see cref="KernelCoreFailure.DiskFull"/>.
        /// </summary>
        public static async Task<KernelCoreSummary> WriteAsync(KernelCorePlan plan, ICoreTarget target, Stream output, string path,
            IProgress<long>? progress, CancellationToken ct)
        {
            if (plan == null) throw new ArgumentNullException(nameof(plan));
            if (target == null) throw new ArgumentNullException(nameof(target));
            if (output == null) throw new ArgumentNullException(nameof(output));
            if (!output.CanSeek || !output.CanWrite) throw new ArgumentException("The core needs a seekable, writable stream.", nameof(output));
            var clock = Stopwatch.StartNew();

            // Notes: one NT_PRSTATUS per CPU in CPU order (crash and drgn take the n-th for CPU n), then VMCOREINFO.
            var notes = new MemoryStream();
            foreach (CoreCpu cpu in plan.Cpus)
            {
                byte[] note = ElfCore.Note("CORE", ElfCore.NtPrStatus,
                    ElfCore.PrStatus(cpu.Pid, name => cpu.Registers.TryGetValue(name, out ulong v) ? v : (ulong?)null));
                notes.Write(note, 0, note.Length);
            }
            byte[] vmcoreinfo = ElfCore.Note("VMCOREINFO", 0, plan.VmcoreInfo.Data);
            notes.Write(vmcoreinfo, 0, vmcoreinfo.Length);

            // Where each range's bytes go.
            int loads = plan.Ranges.Count;
            (CoreRange Range, ulong Physical)? text = FindText(plan);
            int headers = 1 + loads + (text != null ? 1 : 0);
            ulong notesAt = (ulong)(ElfCore.HeaderSize + headers * ElfCore.ProgramHeaderSize);
            ulong offset = Align(notesAt + (ulong)notes.Length, KernelCorePlan.PageSize);
            foreach (CoreRange r in plan.Ranges)
            {
                r.FileOffset = offset;
                r.UnreadablePages = 0;
                offset += r.Length;
            }
            long fileBytes = (long)offset;

            var head = new byte[(int)Align(notesAt + (ulong)notes.Length, KernelCorePlan.PageSize)];
            Buffer.BlockCopy(ElfCore.FileHeader(headers, complete: false), 0, head, 0, ElfCore.HeaderSize);
            int ph = ElfCore.HeaderSize;
            ElfCore.ProgramHeader(head.AsSpan(ph), ElfCore.PtNote, 0, notesAt, 0, 0, (ulong)notes.Length, (ulong)notes.Length);
            ph += ElfCore.ProgramHeaderSize;
            if (text != null)
            {
                (CoreRange holder, ulong physical) = text.Value;
                ulong length = plan.TextEnd - plan.TextStart;
                ElfCore.ProgramHeader(head.AsSpan(ph), ElfCore.PtLoad, 7, holder.FileOffset + (physical - holder.PhysicalAddress),
                    plan.TextStart, physical, length, length);
                ph += ElfCore.ProgramHeaderSize;
            }
            foreach (CoreRange r in plan.Ranges)
            {
                ElfCore.ProgramHeader(head.AsSpan(ph), ElfCore.PtLoad, 7, r.FileOffset, r.VirtualAddress, r.PhysicalAddress, r.Length, r.Length);
                ph += ElfCore.ProgramHeaderSize;
            }
            notes.Position = 0;
            notes.Read(head, (int)notesAt, (int)notes.Length);

            var unreadable = new List<ulong>();
            int unreadableCount = 0;
            long done = 0;
            await Io(() => output.WriteAsync(head, 0, head.Length, ct)).ConfigureAwait(false);
            foreach (CoreRange range in plan.Ranges)
            {
                ulong next = range.PhysicalAddress;
                while (next < range.End)
                {
                    ct.ThrowIfCancellationRequested();
                    try
                    {
                        await target.ReadStreamAsync(plan.PageOffset + next, (long)(range.End - next), async (address, chunk) =>
                        {
                            if (address != plan.PageOffset + next)
                                throw new InvalidOperationException($"The target handed over 0x{address:x16} where 0x{plan.PageOffset + next:x16} was due.");
                            await Io(() => output.WriteAsync(chunk, 0, chunk.Length, ct)).ConfigureAwait(false);
                            next += (ulong)chunk.Length;
                            done += chunk.Length;
                            progress?.Report(done);
                        }, ct).ConfigureAwait(false);
                    }
                    catch (TargetErrorException)
                    {
                        // A request that failed may have started in a good page and reached into a bad one: read the
                        // rest of the page holding `next` alone. If that fails too, the page is zeros and listed.
                        ulong pageEnd = Math.Min(range.End, (next & ~(KernelCorePlan.PageSize - 1)) + KernelCorePlan.PageSize);
                        int rest = (int)(pageEnd - next);
                        byte[]? bytes = null;
                        try
                        {
                            bytes = await target.ReadAsync(plan.PageOffset + next, rest, ct).ConfigureAwait(false);
                        }
                        catch (TargetErrorException)
                        {
                            if (unreadable.Count < MaxListedPages) unreadable.Add(next & ~(KernelCorePlan.PageSize - 1));
                            unreadableCount++;
                            range.UnreadablePages++;
                        }
                        await Io(() => output.WriteAsync(bytes ?? ZeroPage, 0, rest, ct)).ConfigureAwait(false);
                        next = pageEnd;
                        done += rest;
                        progress?.Report(done);
                    }
                }
            }

            // Only now the file becomes an ELF file.
            await Io(async () =>
            {
                await output.FlushAsync(ct).ConfigureAwait(false);
                output.Position = 0;
                byte[] header = ElfCore.FileHeader(headers, complete: true);
                await output.WriteAsync(header, 0, header.Length, ct).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
            clock.Stop();
            return new KernelCoreSummary(path, plan, fileBytes, unreadable, unreadableCount, clock.Elapsed);
        }

        /// <summary>The System RAM range holding the whole kernel image and the image's physical start, or null.</summary>
        private static (CoreRange, ulong)? FindText(KernelCorePlan plan)
        {
            if (plan.TextStart < KernelCorePlan.StartKernelMap || plan.TextEnd <= plan.TextStart) return null;
            ulong physical = plan.TextStart - KernelCorePlan.StartKernelMap + plan.PhysBase;
            ulong end = physical + (plan.TextEnd - plan.TextStart);
            foreach (CoreRange r in plan.Ranges)
                if (physical >= r.PhysicalAddress && end <= r.End) return (r, physical);
            return null;
        }

        /// <summary>Runs a write; a full disk becomes <see cref="KernelCoreFailure.DiskFull"/>.</summary>
        private static async Task Io(Func<Task> write)
        {
            try
            {
                await write().ConfigureAwait(false);
            }
            catch (IOException e) when (IsDiskFull(e))
            {
                throw new KernelCoreException(KernelCoreFailure.DiskFull, "The disk is full: " + e.Message, e);
            }
        }

        /// <summary>
        /// ENOSPC / EDQUOT on Unix (.NET keeps the errno in HResult's low bits or names it in the message) and
        /// ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.
        /// </summary>
        internal static bool IsDiskFull(IOException e)
        {
            int code = e.HResult & 0xffff;
            return code == 28 || code == 122 || code == 0x70 || code == 0x27 ||
                   e.Message.IndexOf("No space left", StringComparison.OrdinalIgnoreCase) >= 0 ||
                   e.Message.IndexOf("quota", StringComparison.OrdinalIgnoreCase) >= 0;
        }

        private static ulong Align(ulong n, ulong to) => (n + to - 1) & ~(to - 1);
    }
}
