using System.Management.Automation;
using KgdbOe.Client;
using KgdbOe.Symbols;
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
            if (Kind != BreakpointKind.Software) EnsureHardwareBreakpointsFire(session, where);

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

        /// <summary>
        /// Stock x86 KGDB accepts hardware breakpoints and never reports their hits: the first one of a
        /// session checks (HardwareBreakpointProbe: the kernel runs up to 3 s with a watchpoint on jiffies
        /// and then stops there or at a break-in), and refuses with KgdbOe.HardwareBreakpointUnsupported
        /// rather than report as set a breakpoint that will never fire.
        /// </summary>
        private void EnsureHardwareBreakpointsFire(KernelTargetSession session, string where)
        {
            if (session.HardwareBreakpoints == HardwareBreakpointSupport.Unknown)
            {
                if (session.Symbols is not SymbolTable symbols || !symbols.TryGetAddress("jiffies", out _) ||
                    !symbols.TryGetAddress("kgdb_breakpoint", out _))
                {
                    WriteWarning($"Without symbols (jiffies, kgdb_breakpoint) KgdbOe cannot check that this kernel reports hardware breakpoint hits; " +
                                 $"stock x86 kernels never do, so the {Kind} breakpoint at {where} may never fire.");
                    return;
                }
                var progress = new ProgressRecord(1, "Set-KernelBreakpoint", "Checking that the kernel reports hardware breakpoint hits (it runs up to 3 s)");
                WriteProgress(progress);
                try
                {
                    session.HardwareBreakpoints = Call(session, where, ErrorCategory.InvalidOperation,
                        (client, ct) => HardwareBreakpointProbe.RunAsync(client, symbols, ct));
                }
                finally
                {
                    progress.RecordType = ProgressRecordType.Completed;
                    WriteProgress(progress);
                }
                WriteVerbose($"Hardware breakpoint hits on {session.Name}: {session.HardwareBreakpoints}; the kernel is now stopped at {session.LastStop?.Location}.");
            }
            if (session.HardwareBreakpoints == HardwareBreakpointSupport.NotReported)
                throw Fail(KgdbOeErrorId.HardwareBreakpointUnsupported, ErrorCategory.NotImplemented, where,
                    $"This kernel accepts hardware breakpoints and watchpoints but never reports a hit (a write watchpoint on jiffies did not stop it), " +
                    $"so no {Kind} breakpoint was set at {where}. Stock x86 KGDB has this fault: its breakpoint events stay inactive for perf " +
                    "(tests/lab/patches/kgdb-hw-breakpoints.patch fixes it in the kernel). Use a software breakpoint, or a patched kernel.");
        }
    }
}
