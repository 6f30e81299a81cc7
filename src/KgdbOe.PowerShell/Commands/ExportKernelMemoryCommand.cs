using System;
using System.IO;
using System.Management.Automation;
using System.Threading;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Saves a range of target memory to a file, with a progress bar. A failed or cancelled export
    /// leaves no partial file behind.
    /// </summary>
    [Cmdlet(VerbsData.Export, "KernelMemory", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportKernelMemoryCommand : KernelTargetCmdlet
    {
        private const int ProgressActivityId = 0x6b67; // stable, so nested progress bars do not collide

        /// <summary>Where to start: a number, hex text or symbol+offset.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>How many bytes to save.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [Alias("Count", "Size")]
        [ValidateRange(1, long.MaxValue)]
        public long Length { get; set; }

        /// <summary>The file to write (relative paths are relative to the current location).</summary>
        [Parameter(Mandatory = true, Position = 2)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Refuse to overwrite an existing file.</summary>
        [Parameter]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Return the file written.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong start = Resolve(session, Address);
            string path = ResolveFilePath(Path);
            string where = Show(session, start);

            if (NoClobber && File.Exists(path))
                throw Fail(KgdbOeErrorId.FileExists, ErrorCategory.ResourceExists, path, $"{path} exists and -NoClobber was given.");
            if (!ShouldProcess(path, $"Export {Length} bytes from {where}")) return;

            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: false);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Fail(KgdbOeErrorId.FileError, ErrorCategory.WriteError, path, $"Cannot create {path}: {e.Message}", e);
            }

            var progress = new ProgressRecord(ProgressActivityId, $"Export-KernelMemory {where}", $"0 of {Length} bytes");
            bool complete = false;
            try
            {
                using (file)
                {
                    var reporter = new ThrottledProgress(Length, done => PostToPipeline(() =>
                    {
                        progress.PercentComplete = (int)(done * 100 / Length);
                        progress.StatusDescription = $"{done} of {Length} bytes";
                        WriteProgress(progress);
                    }));
                    Call(session, where, ErrorCategory.ReadError, (client, ct) => client.ReadMemoryAsync(start, Length,
                        (address, chunk) => file.WriteAsync(chunk, 0, chunk.Length, ct), reporter, ct));
                }
                complete = true;
            }
            finally
            {
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
                if (!complete) TryDelete(path);
            }

            if (PassThru) WriteObject(new FileInfo(path));
        }

        private static void TryDelete(string path)
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        /// <summary>Passes on at most one report per percent, so a fast read does not flood the host.</summary>
        private sealed class ThrottledProgress : IProgress<long>
        {
            private readonly long _total;
            private readonly Action<long> _report;
            private long _lastPercent = -1;

            public ThrottledProgress(long total, Action<long> report)
            {
                _total = total;
                _report = report;
            }

            public void Report(long value)
            {
                long percent = value * 100 / _total;
                if (Interlocked.Exchange(ref _lastPercent, percent) != percent) _report(value);
            }
        }
    }
}
