using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Executes one instruction (or -Count) on the stopped CPU and returns each stop.</summary>
    [Cmdlet(VerbsCommon.Step, "KernelTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(KernelStop))]
    public sealed class StepKernelTargetCommand : KernelTargetCmdlet
    {
        /// <summary>How many instructions to step.</summary>
        [Parameter(Position = 0)]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; } = 1;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!ShouldProcess(session.Name, Count == 1 ? "Step one instruction" : $"Step {Count} instructions")) return;
            for (int i = 0; i < Count; i++)
            {
                var stop = Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.StepAsync(ct));
                WriteObject(new KernelStop(session, stop));
            }
        }
    }
}
