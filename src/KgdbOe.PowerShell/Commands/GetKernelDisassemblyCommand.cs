using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;
using KgdbOe.Disassembly;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Disassembles kernel code read from the target in one memory read: a whole function by name (to the
    /// next symbol), the function around an address, or -Length bytes / -Count instructions from an address.
    /// AT&amp;T syntax spelled like objdump -d, or Intel; branch targets named; the stopped pc marked.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelDisassembly", DefaultParameterSetName = ByName)]
    [OutputType(typeof(KernelInstruction))]
    public sealed class GetKernelDisassemblyCommand : KernelTargetCmdlet
    {
        private const string ByName = "Name";
        private const string ByAddress = "Address";

        /// <summary>The longest function shown whole (a gap to the next symbol longer than this is data, not code).</summary>
        private const ulong MaxFunctionBytes = 0x10000;

        /// <summary>The longest x86 instruction: what -Count reads per instruction.</summary>
        private const int MaxInstructionBytes = 15;

        /// <summary>A function's symbol name: its whole extent is disassembled.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = null!;

        /// <summary>Where to start (number, hex or symbol+offset); without -Length or -Count, the whole function around it.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByAddress, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>How many bytes to disassemble from -Address.</summary>
        [Parameter(ParameterSetName = ByAddress)]
        [ValidateRange(1, 0x100000)]
        public int Length { get; set; }

        /// <summary>How many instructions to disassemble from -Address.</summary>
        [Parameter(ParameterSetName = ByAddress)]
        [ValidateRange(1, 65536)]
        public int Count { get; set; }

        /// <summary>Att (objdump's default) or Intel.</summary>
        [Parameter]
        public DisassemblySyntax Syntax
        {
            get => (DisassemblySyntax)_syntax;
            set => _syntax = (int)value;
        }

        // An int, not the Core enum: a field of a dependency's type would load KgdbOe.Core with the cmdlet type,
        // before DependencyLoader can resolve it (see Loading/DependencyLoader.cs).
        private int _syntax = 0;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong start;
            int length;
            int? count = null;
            object errorTarget;
            if (ParameterSetName == ByName)
            {
                errorTarget = Name;
                start = Resolve(session, new KernelAddress(Name));
                length = FunctionLength(session, start, Name);
            }
            else
            {
                errorTarget = Address;
                start = Resolve(session, Address);
                if (MyInvocation.BoundParameters.ContainsKey(nameof(Length)) && MyInvocation.BoundParameters.ContainsKey(nameof(Count)))
                    throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Address, "Give -Length or -Count, not both.");
                if (MyInvocation.BoundParameters.ContainsKey(nameof(Length))) length = Length;
                else if (MyInvocation.BoundParameters.ContainsKey(nameof(Count)))
                {
                    count = Count;
                    length = Count * MaxInstructionBytes;
                }
                else
                {
                    SymbolLocation? function = session.Symbols?.Lookup(start);
                    if (function == null || session.Describe(start) == null)
                        throw Fail(KgdbOeErrorId.NoFunction, ErrorCategory.ObjectNotFound, Address,
                            $"0x{start:x16} lies in no function of the session's symbols: give -Length or -Count.");
                    int whole = FunctionLength(session, function.SymbolAddress, function.Name);
                    start = function.SymbolAddress;
                    length = whole;
                }
            }

            KernelDebugClient client = session.Client;
            byte[] bytes = Call(session, errorTarget, ErrorCategory.ReadError, (c, ct) => c.ReadMemoryAsync(start, length, null, ct));
            ulong? pc = client.State == TargetState.Stopped ? client.LastStop?.ProgramCounter : null;
            // KGDB lifts its int3s while the kernel is stopped and QEMU's breakpoints never touch memory, so the
            // bytes read are the original ones; the planted addresses are only marked.
            var planted = client.Breakpoints.Where(b => b.Kind == BreakpointKind.Software)
                .GroupBy(b => b.Address).ToDictionary(g => g.Key, g => (byte?)null);
            IReadOnlyList<DisassembledInstruction> instructions = KernelDisassembler.Disassemble(bytes, start, Syntax,
                a => CodeLocation.Describe(session, a), pc, planted, count);
            foreach (DisassembledInstruction instruction in instructions)
                WriteObject(new KernelInstruction(session, instruction));
        }

        /// <summary>From a function's address to the next symbol's (KgdbOe.NoFunction when there is none near).</summary>
        private int FunctionLength(KernelTargetSession session, ulong start, string name)
        {
            if (session.Symbols == null)
                throw Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, name,
                    $"Cannot find where '{name}' ends: the session has no symbols. Connect with -SystemMap, -Vmlinux or -Kallsyms, or give -Address and -Length.");
            ulong? next = FunctionExtents.NextSymbolAddress(session.Symbols, start);
            if (next == null || next.Value - start > MaxFunctionBytes)
                throw Fail(KgdbOeErrorId.NoFunction, ErrorCategory.ObjectNotFound, name,
                    $"'{name}' (0x{start:x16}) is followed by no symbol within 0x{MaxFunctionBytes:x} bytes, so it is no function: give -Address and -Length.");
            return (int)(next.Value - start);
        }
    }
}
