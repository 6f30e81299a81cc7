using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Breaks into a running kernel; every CPU stops. Returns the stop.</summary>
    [Cmdlet(VerbsLifecycle.Suspend, "KernelTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(KernelStop))]
    public sealed class SuspendKernelTargetCommand : KernelTargetCmdlet
    {
        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!ShouldProcess(session.Name, "Stop the kernel")) return;
            var stop = Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.InterruptAsync(ct));
            WriteObject(new KernelStop(session, stop));
        }
    }
}
