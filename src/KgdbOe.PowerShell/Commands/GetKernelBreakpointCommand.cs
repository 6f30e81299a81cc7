using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;
using Breakpoint = KgdbOe.Client.Breakpoint;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Lists the breakpoints and watchpoints planted through a session, with their hit counts.</summary>
    [Cmdlet(VerbsCommon.Get, "KernelBreakpoint")]
    [OutputType(typeof(KernelBreakpoint))]
    public sealed class GetKernelBreakpointCommand : KernelTargetCmdlet
    {
        /// <summary>Only the breakpoints with these ids.</summary>
        [Parameter(Position = 0)]
        public int[]? Id { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            var breakpoints = session.Client.Breakpoints;
            if (Id == null)
            {
                foreach (Breakpoint breakpoint in breakpoints) WriteObject(new KernelBreakpoint(session, breakpoint));
                return;
            }

            foreach (int id in Id)
            {
                Breakpoint? breakpoint = breakpoints.FirstOrDefault(b => b.Id == id);
                if (breakpoint == null)
                    WriteError(Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, id,
                        $"'{session.Name}' has no breakpoint {id}.").ErrorRecord);
                else
                    WriteObject(new KernelBreakpoint(session, breakpoint));
            }
        }
    }
}
