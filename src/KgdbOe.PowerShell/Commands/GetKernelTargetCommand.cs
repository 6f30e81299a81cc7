using System.Linq;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Lists the open sessions of this runspace, the default (newest) last.</summary>
    [Cmdlet(VerbsCommon.Get, "KernelTarget")]
    [OutputType(typeof(KernelTargetSession))]
    public sealed class GetKernelTargetCommand : KgdbOeCmdlet
    {
        /// <summary>Only sessions with these names (wildcards allowed).</summary>
        [Parameter(Position = 0)]
        [SupportsWildcards]
        public string[]? Name { get; set; }

        /// <summary>Only the session cmdlets use when -Target is omitted.</summary>
        [Parameter]
        public SwitchParameter Default { get; set; }

        protected override void ProcessRecordCore()
        {
            SessionRegistry registry = SessionRegistry.Current;
            if (Default)
            {
                if (registry.Default is KernelTargetSession session) WriteObject(session);
                return;
            }

            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (KernelTargetSession session in registry.Sessions)
            {
                if (patterns == null || patterns.Any(p => p.IsMatch(session.Name))) WriteObject(session);
            }
        }
    }
}
