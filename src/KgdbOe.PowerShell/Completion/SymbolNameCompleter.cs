using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace KgdbOe.PowerShell
{
    /// <summary>Tab-completes kernel symbol names from the -Target session, or the default one.</summary>
    public sealed class SymbolNameCompleter : IArgumentCompleter
    {
        private const int MaxResults = 500;

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            KernelTargetSession? session = SessionOf(fakeBoundParameters) ?? SessionRegistry.Current.Default;
            if (session == null || session.Symbols == null) yield break;

            string prefix = (wordToComplete ?? "").Trim('\'', '"');
            if (prefix.IndexOfAny(new[] { '+', '-' }) >= 0) yield break; // already past the name

            // Binary search the sorted names for the first one with the prefix.
            string[] names = session.SortedSymbolNames;
            int index = Array.BinarySearch(names, prefix, StringComparer.Ordinal);
            if (index < 0) index = ~index;
            for (int n = 0; index < names.Length && n < MaxResults && names[index].StartsWith(prefix, StringComparison.Ordinal); index++, n++)
            {
                string name = names[index];
                yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, name);
            }
        }

        private static KernelTargetSession? SessionOf(IDictionary fakeBoundParameters)
        {
            object? value = fakeBoundParameters?["Target"];
            return (value is PSObject pso ? pso.BaseObject : value) as KernelTargetSession;
        }
    }
}
