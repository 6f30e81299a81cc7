using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Waits until a running kernel stops (a breakpoint, a watchpoint, an oops) and returns the stop.</summary>
    [Cmdlet(VerbsLifecycle.Wait, "KernelTarget")]
    [OutputType(typeof(KernelStop))]
    public sealed class WaitKernelTargetCommand : KernelTargetCmdlet
    {
        /// <summary>Seconds to wait; no limit when negative (the default). Ctrl-C always ends the wait.</summary>
        [Parameter(Position = 0)]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = -1;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            WriteObject(WaitForStop(session, Timeout));
        }
    }
}
