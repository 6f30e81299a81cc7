using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Tab-completes kernel type names (structs, unions, enums, typedefs, base types) from the BTF of the -Target session,
    /// or the default one. Completion never reads the target: it offers names once the types are loaded (by a first
    /// Get-KernelType, or at once when the session was connected with -BtfPath).
    /// </summary>
    public sealed class TypeNameCompleter : IArgumentCompleter
    {
        private const int MaxResults = 500;

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            KernelTargetSession? session = SessionOf(fakeBoundParameters) ?? SessionRegistry.Current.Default;
            if (session == null || session.IsClosed) yield break;
            string[] names = session.SortedTypeNames(allowFileLoad: true);

            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            int index = Array.BinarySearch(names, prefix, StringComparer.Ordinal);
            if (index < 0) index = ~index;
            for (int n = 0; index < names.Length && n < MaxResults && names[index].StartsWith(prefix, StringComparison.Ordinal); index++, n++)
            {
                string name = names[index];
                string text = name.IndexOf(' ') >= 0 ? "'" + name + "'" : name;
                yield return new CompletionResult(text, name, CompletionResultType.ParameterValue, name);
            }
        }

        private static KernelTargetSession? SessionOf(IDictionary fakeBoundParameters)
        {
            object? value = fakeBoundParameters?["Target"];
            return (value is PSObject pso ? pso.BaseObject : value) as KernelTargetSession;
        }
    }
}
