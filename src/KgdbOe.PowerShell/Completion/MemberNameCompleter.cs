using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;
using KgdbOe.Types;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Tab-completes member names of the type given by -Type on the same command line (Get-KernelListEntry -Member), from the
    /// session's loaded BTF (completion never reads the target). Offers members of anonymous structs and unions too, and
    /// "a.b" paths once the text has a dot.
    /// </summary>
    public sealed class MemberNameCompleter : IArgumentCompleter
    {
        private const int MaxResults = 500;

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            object? target = fakeBoundParameters?["Target"];
            KernelTargetSession? session = (target is PSObject pso ? pso.BaseObject : target) as KernelTargetSession ?? SessionRegistry.Current.Default;
            string? typeName = fakeBoundParameters?["Type"]?.ToString();
            if (session == null || session.IsClosed || string.IsNullOrWhiteSpace(typeName)) yield break;
            session.SortedTypeNames(allowFileLoad: true); // loads a -BtfPath file; never the target
            BtfTypeGraph? types = session.LoadedTypes;
            if (types == null || !(types.FindType(typeName!.Trim())?.Resolve() is StructType type)) yield break;

            string word = (wordToComplete ?? "").Trim('\'', '"');
            int dot = word.LastIndexOf('.');
            string prefix = dot < 0 ? "" : word.Substring(0, dot + 1);
            string last = dot < 0 ? word : word.Substring(dot + 1);
            StructType? scope = type;
            if (dot >= 0)
            {
                scope = null;
                try { scope = Find(type, word.Substring(0, dot))?.Resolve() as StructType; }
                catch (ArgumentException) { }
                if (scope == null) yield break;
            }
            var names = new List<string>();
            Collect(scope, names, 0);
            int n = 0;
            foreach (string name in names)
            {
                if (!name.StartsWith(last, StringComparison.OrdinalIgnoreCase)) continue;
                if (n++ >= MaxResults) yield break;
                yield return new CompletionResult(prefix + name, name, CompletionResultType.ParameterValue, name);
            }
        }

        private static KernelType? Find(StructType type, string path)
        {
            KernelType? current = type;
            foreach (string part in path.Split('.'))
            {
                if (!(current?.Resolve() is StructType st)) return null;
                current = st.FindMember(part)?.Type;
            }
            return current;
        }

        private static void Collect(StructType type, List<string> names, int depth)
        {
            foreach (StructMember m in type.Members)
            {
                if (m.Name.Length > 0) names.Add(m.Name);
                else if (depth < 16 && m.Type.Resolve() is StructType inner) Collect(inner, names, depth + 1);
            }
        }
    }
}
