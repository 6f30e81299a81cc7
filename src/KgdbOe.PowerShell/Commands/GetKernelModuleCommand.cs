using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Lists the loaded modules like /proc/modules (name, size, state, base), from the kernel's modules list, one read of
    /// struct module each.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelModule")]
    [OutputType(typeof(KernelModule))]
    public sealed class GetKernelModuleCommand : KernelObjectCmdlet
    {
        /// <summary>Only modules whose name matches.</summary>
        [Parameter(Position = 0)]
        [SupportsWildcards]
        public string[]? Name { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            KernelContext context = GetContext(session);
            KernelModules modules = Kernel(session, "struct module", () => new KernelModules(context));
            var found = new List<KernelModuleInfo>();
            KgdbOeErrorException? failure = null;
            try
            {
                Kernel(session, "modules", async ct => { await modules.ListAsync(found, ct).ConfigureAwait(false); return true; });
            }
            catch (KgdbOeErrorException e)
            {
                failure = e; // the modules read before it are still written
            }
            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (KernelModuleInfo info in found)
                if (patterns == null || patterns.Any(p => p.IsMatch(info.Name)))
                    WriteObject(new KernelModule(session, info));
            if (failure != null) throw failure;
        }
    }
}
