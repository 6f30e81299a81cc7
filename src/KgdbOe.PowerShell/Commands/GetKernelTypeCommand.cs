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
            BtfTypeGraph types = Await(ct => session.GetTypesAsync(ct));
            foreach (string name in Name)
            {
                Guard(() => WriteType(session, types, name));
            }
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
