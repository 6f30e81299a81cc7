using System.Management.Automation;
using KgdbOe.Client;
using Breakpoint = KgdbOe.Client.Breakpoint;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Plants a breakpoint (software int3, or a hardware execute breakpoint) or a hardware
    /// watchpoint (WriteWatch, ReadWatch, AccessWatch) of 1, 2, 4 or 8 bytes.
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "KernelBreakpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(KernelBreakpoint))]
    public sealed class SetKernelBreakpointCommand : KernelTargetCmdlet
    {
        /// <summary>Where: a number, hex text or symbol+offset.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>Software (int3), Hardware (debug register), WriteWatch, ReadWatch or AccessWatch.</summary>
        [Parameter(Position = 1)]
        public BreakpointKind Kind
        {
            get => (BreakpointKind)_kind;
            set => _kind = (int)value;
        }

        // Stored as int so scanning this assembly never needs KgdbOe.Core (see DependencyLoader).
        private int _kind = (int)BreakpointKind.Software;

        /// <summary>Bytes watched (watchpoints: 1, 2, 4 or 8); 1 for execute breakpoints.</summary>
        [Parameter]
        [ValidateSet("1", "2", "4", "8")]
        public int Length { get; set; } = 1;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong address = Resolve(session, Address);
            string where = Show(session, address);
            if (!ShouldProcess(where, $"Set a {Kind} breakpoint")) return;

            Breakpoint breakpoint = Call(session, where, ErrorCategory.InvalidOperation,
                (client, ct) => client.SetBreakpointAsync(Kind, address, Length, ct));
            WriteObject(new KernelBreakpoint(session, breakpoint));
        }
    }
}
