using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Detaches from a kernel: the stub removes every breakpoint and the kernel runs on.
    /// The session is closed even when the target no longer answers.
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "KernelTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(void))]
    public sealed class DisconnectKernelTargetCommand : KernelTargetCmdlet
    {
        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!ShouldProcess(session.Name, "Detach (the kernel resumes, breakpoints are removed)")) return;

            try
            {
                Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.DetachAsync(ct));
            }
            catch (KgdbOeErrorException e)
            {
                WriteWarning($"'{session.Name}' did not confirm the detach ({e.Message}); closing the session anyway.");
            }
            finally
            {
                SessionRegistry.Current.Remove(session);
                session.Dispose();
            }
        }
    }
}
