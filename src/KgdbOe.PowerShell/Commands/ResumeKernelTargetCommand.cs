using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Lets a stopped kernel run. With -Wait, also waits for the next stop and returns it, which
    /// makes a breakpoint loop one line: 1..50 | % { Resume-KernelTarget -Wait }.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Resume, "KernelTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(KernelStop))]
    public sealed class ResumeKernelTargetCommand : KernelTargetCmdlet
    {
        /// <summary>Wait for the next stop and return it.</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>With -Wait: seconds to wait for the stop; no limit when negative (the default). Ctrl-C always ends it.</summary>
        [Parameter]
        public double Timeout { get; set; } = -1;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!ShouldProcess(session.Name, "Resume the kernel")) return;
            Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.ResumeAsync(ct));
            if (!Wait) return;
            WriteObject(WaitForStop(session, Timeout));
        }
    }
}
