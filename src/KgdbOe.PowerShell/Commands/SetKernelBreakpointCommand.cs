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

        /// <summary>
        /// The module whose function -Address names (a symbol name): planted at once when the module is loaded, else
        /// pending and planted when it loads (the client stops the kernel at do_init_module and lets it go on by itself).
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? Module { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (Module != null)
            {
                SetInModule(session, Module);
                return;
            }
            ulong address = Resolve(session, Address);
            string where = Show(session, address);
            if (!ShouldProcess(where, $"Set a {Kind} breakpoint")) return;

            Breakpoint breakpoint = Call(session, where, ErrorCategory.InvalidOperation,
                (client, ct) => client.SetBreakpointAsync(Kind, address, Length, ct));
            WriteObject(new KernelBreakpoint(session, breakpoint));
        }

        private void SetInModule(KernelTargetSession session, string module)
        {
            string? symbol = Address.Text?.Trim();
            if (symbol == null || symbol.Length == 0 || symbol.IndexOfAny(new[] { '+', '-', ' ' }) >= 0 || symbol.StartsWith("0x", System.StringComparison.OrdinalIgnoreCase))
                throw Fail(KgdbOeErrorId.BadAddress, ErrorCategory.InvalidArgument, Address.ToString(),
                    $"With -Module, -Address is a function's name in that module ('{Address}' is not).");
            if (Kind != BreakpointKind.Software && Kind != BreakpointKind.Hardware)
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Kind, "With -Module, the breakpoint is Software or Hardware, not a watchpoint.");
            if (session.Client.State != TargetState.Stopped)
                throw Fail(KgdbOeErrorId.InvalidState, ErrorCategory.InvalidOperation, session,
                    $"Cannot set a breakpoint: the target {session.Endpoint} is running. Stop it with Suspend-KernelTarget first.");
            string where = $"{symbol} [{module}]";
            if (!ShouldProcess(where, $"Set a {Kind} breakpoint")) return;
            Kernel.ModuleSymbolTable loaded = session.RefreshModuleSymbols(Cancellation) ?? session.ModuleSymbols;
            if (loaded.FindModule(module) is Kernel.LoadedModuleSymbols m && !m.TryGet(symbol, out _))
                throw Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, where, $"The loaded module {module} has no symbol '{symbol}'.");
            Breakpoint breakpoint = Call(session, where, ErrorCategory.InvalidOperation,
                (client, ct) => session.ModuleBreakpoints.AddAsync(Kind, module, symbol, loaded, ct));
            WriteObject(new KernelBreakpoint(session, breakpoint));
        }
    }
}
