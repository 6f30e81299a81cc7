using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;
using Breakpoint = KgdbOe.Client.Breakpoint;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Removes breakpoints: piped from Get-KernelBreakpoint / Set-KernelBreakpoint, by -Id, or -All.</summary>
    [Cmdlet(VerbsCommon.Remove, "KernelBreakpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low,
        DefaultParameterSetName = ByInputObject)]
    [OutputType(typeof(void))]
    public sealed class RemoveKernelBreakpointCommand : KernelTargetCmdlet
    {
        private const string ByInputObject = "InputObject";
        private const string ById = "Id";
        private const string ByAll = "All";

        /// <summary>Breakpoints from Get-KernelBreakpoint or Set-KernelBreakpoint.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
        public KernelBreakpoint[] InputObject { get; set; } = new KernelBreakpoint[0];

        /// <summary>The ids of the breakpoints to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ById)]
        public int[] Id { get; set; } = new int[0];

        /// <summary>Remove every breakpoint of the session.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByAll)]
        public SwitchParameter All { get; set; }

        protected override void ProcessRecordCore()
        {
            if (ParameterSetName == ByInputObject)
            {
                // Each breakpoint knows its session, whatever the default is.
                foreach (KernelBreakpoint breakpoint in InputObject)
                    Guard(() => Remove(Target ?? breakpoint.Target, breakpoint.Breakpoint));
                return;
            }

            KernelTargetSession session = Session;
            IEnumerable<Breakpoint> chosen = session.Client.Breakpoints.ToList();
            if (ParameterSetName == ById)
            {
                var found = new List<Breakpoint>();
                foreach (int id in Id)
                {
                    Breakpoint? breakpoint = session.Client.Breakpoints.FirstOrDefault(b => b.Id == id);
                    if (breakpoint == null)
                        WriteError(Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, id,
                            $"'{session.Name}' has no breakpoint {id}.").ErrorRecord);
                    else
                        found.Add(breakpoint);
                }
                chosen = found;
            }

            foreach (Breakpoint breakpoint in chosen) Guard(() => Remove(session, breakpoint));
        }

        private void Remove(KernelTargetSession session, Breakpoint breakpoint)
        {
            if (session.IsClosed)
                throw Fail(KgdbOeErrorId.SessionClosed, ErrorCategory.ResourceUnavailable, session, $"The session '{session.Name}' is closed.");
            if (!session.Client.Breakpoints.Contains(breakpoint))
                throw Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, breakpoint.Id,
                    $"'{session.Name}' has no breakpoint {breakpoint.Id}: it was removed already.");
            string what = $"#{breakpoint.Id} {breakpoint.Kind} at {Show(session, breakpoint.Address)}";
            if (!ShouldProcess(what, "Remove breakpoint")) return;
            Call(session, what, ErrorCategory.InvalidOperation, (client, ct) => client.RemoveBreakpointAsync(breakpoint, ct));
        }
    }
}
