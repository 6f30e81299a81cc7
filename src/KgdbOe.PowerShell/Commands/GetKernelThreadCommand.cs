using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Lists the target's threads: one per CPU, then the tasks (KGDB), or the vCPUs (QEMU).</summary>
    [Cmdlet(VerbsCommon.Get, "KernelThread")]
    [OutputType(typeof(KernelThread))]
    public sealed class GetKernelThreadCommand : KernelTargetCmdlet
    {
        /// <summary>Only threads whose name (comm) matches.</summary>
        [Parameter(Position = 0)]
        [SupportsWildcards]
        public string[]? Name { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            IReadOnlyList<TargetThread> threads = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.GetThreadsAsync(ct));
            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (TargetThread thread in threads)
            {
                if (patterns == null || patterns.Any(p => p.IsMatch(thread.Name ?? "")))
                    WriteObject(new KernelThread(session, thread));
            }
        }
    }
}
