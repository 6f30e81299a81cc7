using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Runs a monitor command and returns its output lines: a kdb command on KGDB (ps, lsmod,
    /// dmesg, bt), a QEMU monitor command on QEMU's gdbstub.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "KernelMonitorCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(string))]
    public sealed class InvokeKernelMonitorCommandCommand : KernelTargetCmdlet
    {
        /// <summary>The command line: a kdb command (KGDB) or a QEMU monitor command (QEMU's gdbstub).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        /// <summary>Return the output as one string instead of lines.</summary>
        [Parameter]
        public SwitchParameter Raw { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!ShouldProcess(session.Name, $"Run monitor command '{Command}'")) return;
            string output = Call(session, Command, ErrorCategory.InvalidOperation, (client, ct) => client.InvokeMonitorCommandAsync(Command, ct));
            if (Raw)
                WriteObject(output);
            else
                foreach (string line in output.TrimEnd('\n', '\r').Split(new[] { "\r\n", "\n" }, StringSplitOptions.None))
                    WriteObject(line);
        }
    }
}
