using System;
using System.IO;
using System.Management.Automation;
using System.Threading;
using KgdbOe.Capture;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Saves the whole stopped kernel as an ELF core (ET_CORE, the layout of the kernel's /proc/vmcore) that crash and
    /// drgn open: every System RAM range, each CPU's registers and the kernel's vmcoreinfo. The file is written as
    /// "&lt;Path&gt;.partial" with its ELF magic left out until the last byte is in, then renamed; a failed or cancelled
    /// capture removes it.
    /// </summary>
    [Cmdlet(VerbsData.Export, "KernelCore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(KernelCoreSummary))]
    public sealed class ExportKernelCoreCommand : KernelObjectCmdlet
    {
        private const int ProgressActivityId = 0x6b68; // stable; Export-KernelMemory has 0x6b67

        /// <summary>The core file to write (relative paths are relative to the current location).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Refuse to overwrite an existing file.</summary>
        [Parameter]
        public SwitchParameter NoClobber { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            string path = ResolveFilePath(Path);
            string partial = path + ".partial";
            if (NoClobber && File.Exists(path))
                throw Fail(KgdbOeErrorId.FileExists, ErrorCategory.ResourceExists, path, $"{path} exists and -NoClobber was given.");
            if (session.Symbols == null)
                throw Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, session,
                    $"The session '{session.Name}' has no symbols: a core needs vmcoreinfo_data, iomem_resource and page_offset_base. Connect with -SystemMap or -Vmlinux.");
            if (!ShouldProcess(path, $"Export the kernel of {session.Name} as an ELF core")) return;

            var target = new ClientCoreTarget(session.Client);
            BtfTypeGraph types = Kernel(session, session, ct => session.GetTypesAsync(ct));
            KernelCorePlan plan = Capture(session, () => Kernel(session, session, ct => KernelCorePlan.ReadAsync(target, session.Symbols, types, ct)));

            long total = 0;
            foreach (CoreRange r in plan.Ranges) total += (long)r.Length;
            FileStream file;
            try
            {
                file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: false);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Fail(KgdbOeErrorId.FileError, ErrorCategory.WriteError, path, $"Cannot create {partial}: {e.Message}", e);
            }

            var progress = new ProgressRecord(ProgressActivityId, $"Export-KernelCore {session.Name}",
                $"{plan.Ranges.Count} System RAM ranges, {total / (1024 * 1024)} MiB");
            bool complete = false;
            KernelCoreSummary summary;
            try
            {
                try
                {
                    var started = DateTime.UtcNow;
                    long lastPercent = -1;
                    var reporter = new Progress(done =>
                    {
                        long percent = total == 0 ? 100 : done * 100 / total;
                        if (Interlocked.Exchange(ref lastPercent, percent) == percent) return;
                        double seconds = (DateTime.UtcNow - started).TotalSeconds;
                        PostToPipeline(() =>
                        {
                            progress.PercentComplete = (int)Math.Min(100, percent);
                            progress.StatusDescription = $"{done / (1024 * 1024)} of {total / (1024 * 1024)} MiB" +
                                (seconds > 1 ? $", {done / seconds / (1024 * 1024):0.00} MiB/s" : "");
                            if (seconds > 1 && done > 0) progress.SecondsRemaining = (int)((total - done) * seconds / done);
                            WriteProgress(progress);
                        });
                    });
                    summary = Capture(session, () => Call(session, path, ErrorCategory.ReadError,
                        (client, ct) => KernelCoreWriter.WriteAsync(plan, target, file, path, reporter, ct)));
                    file.Dispose(); // the writer flushed: nothing is left in the buffer to fail here
                }
                catch
                {
                    // Closing flushes what is buffered, which fails again on a full disk: the first error is the one to report.
                    try { file.Dispose(); }
                    catch (IOException) { }
                    throw;
                }
                try
                {
                    if (File.Exists(path)) File.Delete(path);
                    File.Move(partial, path);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw Fail(KgdbOeErrorId.FileError, ErrorCategory.WriteError, path, $"Cannot rename {partial} to {path}: {e.Message}", e);
                }
                complete = true;
            }
            finally
            {
                // First the file: writing the progress record throws when the pipeline is being stopped (Ctrl-C).
                if (!complete) TryDelete(partial);
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
            }

            WriteObject(summary);
            if (summary.UnreadablePageCount > 0)
            {
                string first = "0x" + summary.UnreadablePages[0].ToString("x");
                WriteError(new ErrorRecord(
                    new IOException($"{summary.UnreadablePageCount} page(s) of System RAM could not be read (the first at physical {first}); they are zeros in {path} and listed in UnreadablePages."),
                    KgdbOeErrorId.UnreadablePages, ErrorCategory.ReadError, summary));
            }
        }

        /// <summary>Runs capture work, turning its own failures into error records with their ids.</summary>
        private T Capture<T>(KernelTargetSession session, Func<T> work)
        {
            try
            {
                return work();
            }
            catch (KgdbOeErrorException e) when (e.ErrorRecord.Exception is KernelCoreException || e.ErrorRecord.Exception?.InnerException is KernelCoreException)
            {
                throw Translate(e.ErrorRecord.Exception as KernelCoreException ?? (KernelCoreException)e.ErrorRecord.Exception!.InnerException!, session);
            }
            catch (KernelCoreException e)
            {
                throw Translate(e, session);
            }
            catch (IOException e)
            {
                throw Fail(KgdbOeErrorId.FileError, ErrorCategory.WriteError, Path, e.Message, e);
            }
        }

        private static KgdbOeErrorException Translate(KernelCoreException e, KernelTargetSession session) => e.Failure switch
        {
            KernelCoreFailure.NoVmcoreInfo => Fail(KgdbOeErrorId.NoVmcoreInfo, ErrorCategory.ObjectNotFound, session, e.Message, e),
            KernelCoreFailure.NoSystemRam => Fail(KgdbOeErrorId.NoSystemRam, ErrorCategory.ObjectNotFound, session, e.Message, e),
            _ => Fail(KgdbOeErrorId.DiskFull, ErrorCategory.WriteError, session, e.Message, e),
        };

        private static void TryDelete(string path)
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        /// <summary>Calls back on the reporting thread (not a captured context: the pipeline thread is busy waiting).</summary>
        private sealed class Progress : IProgress<long>
        {
            private readonly Action<long> _report;

            public Progress(Action<long> report) => _report = report;

            public void Report(long value) => _report(value);
        }
    }
}
