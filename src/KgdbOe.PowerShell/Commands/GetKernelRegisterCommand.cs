using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Reads the registers of the stopped CPU, or of one thread (-ThreadId), one object per register.</summary>
    [Cmdlet(VerbsCommon.Get, "KernelRegister")]
    [OutputType(typeof(KernelRegister))]
    public sealed class GetKernelRegisterCommand : KernelTargetCmdlet
    {
        /// <summary>Only these registers (wildcards allowed): rip, rsp, r1?.</summary>
        [Parameter(Position = 0)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(RegisterNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>A thread id from Get-KernelThread (pipe threads in); the thread that stopped when omitted.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        public string? ThreadId { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            RegisterSet registers = Call(session, (object?)ThreadId ?? session, ErrorCategory.ReadError,
                (client, ct) => client.ReadRegistersAsync(ThreadId, ct));

            if (Name == null)
            {
                foreach (Register register in registers) WriteObject(new KernelRegister(session, register, ThreadId));
                return;
            }

            foreach (string name in Name)
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                var matches = registers.Where(r => pattern.IsMatch(r.Name)).ToList();
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                {
                    WriteError(Fail(KgdbOeErrorId.UnknownRegister, ErrorCategory.ObjectNotFound, name,
                        $"The target has no register '{name}'. It has: {string.Join(", ", registers.Select(r => r.Name))}.").ErrorRecord);
                    continue;
                }
                foreach (Register register in matches) WriteObject(new KernelRegister(session, register, ThreadId));
            }
        }
    }
}
