using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace KgdbOe.PowerShell
{
    /// <summary>Tab-completes x86-64 register names (the layout KGDB and QEMU share).</summary>
    public sealed class RegisterNameCompleter : IArgumentCompleter
    {
        private static readonly string[] Names =
        {
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
        };

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters) =>
            Names.Where(n => n.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                 .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
