using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KgdbOe.Client;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Executes one instruction (or -Count) on the stopped CPU and returns each stop; -Over steps over a call
    /// (runs to the next instruction in this frame), -Out runs until the function returns to its caller
    /// (gdb's finish), -To runs to an address. The last three plant a breakpoint of the client's own that passes
    /// over other tasks and deeper frames, and lift it again.
    /// </summary>
    [Cmdlet(VerbsCommon.Step, "KernelTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = Instruction)]
    [OutputType(typeof(KernelStop))]
    public sealed class StepKernelTargetCommand : KernelTargetCmdlet
    {
        private const string Instruction = "Instruction";
        private const string OverSet = "Over";
        private const string OutSet = "Out";
        private const string ToSet = "To";

        /// <summary>How many instructions (or -Over steps) to take.</summary>
        [Parameter(Position = 0, ParameterSetName = Instruction)]
        [Parameter(Position = 0, ParameterSetName = OverSet)]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; } = 1;

        /// <summary>Step over a call: a call instruction runs until it returns to the next instruction; any other is one step.</summary>
        [Parameter(Mandatory = true, ParameterSetName = OverSet)]
        public SwitchParameter Over { get; set; }

        /// <summary>Run until the current function returns to its caller (the return address from the ORC unwind).</summary>
        [Parameter(Mandatory = true, ParameterSetName = OutSet)]
        public SwitchParameter Out { get; set; }

        /// <summary>Run until this address is reached (a number, hex or symbol+offset).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ToSet)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress? To { get; set; }

        /// <summary>With -Over, -Out or -To: seconds to wait for the kernel to get there (default 60); Ctrl-C ends the wait.</summary>
        [Parameter(ParameterSetName = OverSet)]
        [Parameter(ParameterSetName = OutSet)]
        [Parameter(ParameterSetName = ToSet)]
        public double Timeout { get; set; } = 60;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            switch (ParameterSetName)
            {
                case OverSet:
                    if (!ShouldProcess(session.Name, Count == 1 ? "Step over one instruction" : $"Step over {Count} instructions")) return;
                    for (int i = 0; i < Count; i++) WriteObject(StepOver(session));
                    return;
                case OutSet:
                    if (!ShouldProcess(session.Name, "Run until the function returns")) return;
                    WriteObject(StepOut(session));
                    return;
                case ToSet:
                    ulong target = Resolve(session, To!);
                    string where = Show(session, target);
                    if (!ShouldProcess(where, "Run to")) return;
                    WriteObject(RunTo(session, target, null, null, where));
                    return;
            }
            if (!ShouldProcess(session.Name, Count == 1 ? "Step one instruction" : $"Step {Count} instructions")) return;
            for (int i = 0; i < Count; i++)
            {
                var stop = Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.StepAsync(ct));
                WriteObject(new KernelStop(session, stop));
            }
        }

        private KernelStop StepOver(KernelTargetSession session)
        {
            EnsureStopped(session);
            (ulong pc, ulong sp, string? thread) = Where(session);
            byte[] code = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadMemoryAsync(pc, 16, null, ct));
            ulong? after = Disassembly.KernelDisassembler.ReturnAddressIfCall(code, pc);
            if (after == null)
                return new KernelStop(session, Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.StepAsync(ct)));
            // Back in this frame after the call: the same task, the stack as it was before the call.
            ulong next = after.Value;
            return RunTo(session, next, thread, sp - 1, Show(session, next));
        }

        private KernelStop StepOut(KernelTargetSession session)
        {
            EnsureStopped(session);
            RegisterSet registers = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadRegistersAsync(null, ct));
            ulong pc = registers.ProgramCounter;
            ulong sp = registers.TryGetValue("rsp", out Register? r) && r != null ? r.Value : 0;
            string? thread = session.Client.LastStop?.ThreadId;
            Unwind.UnwindResult unwound;
            try
            {
                unwound = GetKernelStackCommand.UnwindStopped(session, registers, 2, Cancellation);
            }
            catch (Exception e) when (e is GdbRemoteException || e is InvalidOperationException)
            {
                throw Fail(KgdbOeErrorId.NotInFunction, ErrorCategory.ObjectNotFound, "0x" + pc.ToString("x16"),
                    $"Cannot step out of {Show(session, pc)}: its stack cannot be unwound ({e.Message}).", e);
            }
            IReadOnlyList<Unwind.StackFrame> frames = unwound.Frames;
            if (frames.Count < 2 || !frames[1].Reliable)
                throw Fail(KgdbOeErrorId.NotInFunction, ErrorCategory.ObjectNotFound, "0x" + pc.ToString("x16"),
                    $"Cannot step out of {Show(session, pc)}: its caller cannot be found (no ORC data for it, or the stack ends here).");
            ulong returnAddress = frames[1].Pc;
            // The caller sees the stack above this frame: a deeper call of the same function reaching that address is passed over.
            return RunTo(session, returnAddress, thread, sp, Show(session, returnAddress));
        }

        private KernelStop RunTo(KernelTargetSession session, ulong address, string? thread, ulong? spAbove, string where)
        {
            TimeSpan timeout = TimeSpan.FromSeconds(Timeout < 0 ? 3600 * 24 : Timeout);
            StopEvent stop = Call(session, where, ErrorCategory.InvalidOperation, (client, ct) => client.RunToAsync(address, thread, spAbove, timeout, ct));
            return new KernelStop(session, stop);
        }

        private (ulong Pc, ulong Sp, string? Thread) Where(KernelTargetSession session)
        {
            RegisterSet registers = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadRegistersAsync(null, ct));
            ulong sp = registers.TryGetValue("rsp", out Register? r) && r != null ? r.Value : 0;
            return (registers.ProgramCounter, sp, session.Client.LastStop?.ThreadId);
        }

        private static void EnsureStopped(KernelTargetSession session)
        {
            if (session.Client.State != TargetState.Stopped)
                throw Fail(KgdbOeErrorId.InvalidState, ErrorCategory.InvalidOperation, session,
                    $"Cannot step: the target {session.Endpoint} is running. Stop it with Suspend-KernelTarget or Wait-KernelTarget first.");
        }
    }
}
