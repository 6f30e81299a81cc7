using System;
using System.Management.Automation;
using System.Text.RegularExpressions;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Shows a kernel type from the kernel's own BTF: kind, size and, for a struct or union, each member's offset, size,
    /// bit-field position and type, laid out the way `pahole -C` prints it. The BTF comes from the session's -BtfPath
    /// file or from the target's memory (read once, then cached on disk by the kernel's banner).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelType")]
    [OutputType(typeof(KernelTypeInfo))]
    public sealed class GetKernelTypeCommand : KernelTargetCmdlet
    {
        /// <summary>
        /// Type names: "task_struct" (a struct, union, enum, typedef or base type by that name, structs first),
        /// "struct x", "union x", "enum x", "unsigned long", "char *" (stars after a space). Wildcards ("prb_*") list every
        /// matching named type.
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ArgumentCompleter(typeof(TypeNameCompleter))]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[] Name { get; set; } = new string[0];

        private static readonly Regex PointerSpelling = new Regex(@"^[^*?\[\]]*\s\*[\s*]*$", RegexOptions.CultureInvariant);

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            BtfTypeGraph types = LoadTypes(session);
            foreach (string name in Name)
            {
                Guard(() => WriteType(session, types, name));
            }
        }

        // The first load reads megabytes from the target (seconds over kgdboe): show how far it is.
        private BtfTypeGraph LoadTypes(KernelTargetSession session)
        {
            if (session.LoadedTypes is BtfTypeGraph loaded) return loaded;
            var record = new ProgressRecord(ProgressActivityId, "Get-KernelType", "Reading the kernel's BTF");
            long lastPercent = -1; // written by the read's thread only
            var progress = new Progress(p =>
            {
                long percent = p.Total == 0 ? 100 : p.Done * 100 / p.Total;
                if (percent == lastPercent) return;
                lastPercent = percent;
                PostToPipeline(() =>
                {
                    record.PercentComplete = (int)percent;
                    record.StatusDescription = $"Reading the kernel's BTF: {p.Done} of {p.Total} bytes";
                    WriteProgress(record);
                });
            });
            try
            {
                BtfTypeGraph types = Await(ct => session.GetTypesAsync(ct, progress));
                WriteVerbose($"Types: {session.TypeSource}.");
                return types;
            }
            finally
            {
                if (lastPercent >= 0)
                {
                    record.RecordType = ProgressRecordType.Completed;
                    WriteProgress(record);
                }
            }
        }

        private const int ProgressActivityId = 0x6274; // "bt": stable, apart from Export-KernelMemory's

        /// <summary>Reports synchronously on the reporting thread (System.Progress would post to a context PowerShell lacks).</summary>
        private sealed class Progress : IProgress<(long Done, long Total)>
        {
            private readonly System.Action<(long Done, long Total)> _report;

            public Progress(System.Action<(long Done, long Total)> report) => _report = report;

            public void Report((long Done, long Total) value) => _report(value);
        }

        private void WriteType(KernelTargetSession session, BtfTypeGraph types, string name)
        {
            // "char *" and "struct list_head *" are C spellings (stars after a space); "prb_*" is a pattern.
            if (WildcardPattern.ContainsWildcardCharacters(name) && !PointerSpelling.IsMatch(name))
            {
                var pattern = new WildcardPattern(name, WildcardOptions.None);
                foreach (string candidate in session.SortedTypeNames(allowFileLoad: false))
                {
                    if (pattern.IsMatch(candidate) && types.FindType(candidate) is KernelType match)
                        WriteObject(new KernelTypeInfo(session, match));
                }
                return;
            }
            if (types.FindType(name) is KernelType type)
            {
                WriteObject(new KernelTypeInfo(session, type));
                return;
            }
            throw Fail(KgdbOeErrorId.TypeNotFound, ErrorCategory.ObjectNotFound, name,
                $"The kernel's BTF has no type '{name}'. Give a struct, union, enum, typedef or base type name (\"task_struct\", \"struct file\", \"u64\").");
        }
    }
}
