using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using KgdbOe.Client;
using KgdbOe.Unwind;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// The backtrace of the stopped CPU, of another CPU (KGDB's shadow CPU threads: registers as captured
    /// at the roundup) or of a task thread (a sleeping task starts from its switch frame). ORC tables are
    /// read from the kernel's memory on first use and kept for the session; frame pointers where no ORC
    /// entry exists (unreliable). A frame that cannot be unwound ends the output with KgdbOe.UnwindFailed.
    /// </summary>
    // Two parameter sets: -Cpu, and the default one where -ThreadId and -TaskAddress are optional. Both bind from
    // the pipeline by property name; were they in sets of their own, a piped thread or task would satisfy the
    // default set through -Target alone and PowerShell would never bind them.
    [Cmdlet(VerbsCommon.Get, "KernelStack", DefaultParameterSetName = Stopped)]
    [OutputType(typeof(KernelStackFrame))]
    public sealed class GetKernelStackCommand : KernelTargetCmdlet
    {
        private const string Stopped = "Stopped";
        private const string ByCpu = "Cpu";

        // Each session's ORC table, read on demand and kept while the session lives (the tables never change
        // after boot). Keyed by the session object, so every target has its own.
        private static readonly ConditionalWeakTable<KernelTargetSession, OrcHolder> OrcTables = new ConditionalWeakTable<KernelTargetSession, OrcHolder>();

        private RegisterSet? _stopped;

        /// <summary>A CPU number: that CPU's stack (its registers as the debugger caught it).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByCpu)]
        [ValidateRange(0, 8191)]
        public int Cpu { get; set; }

        /// <summary>A thread id as Get-KernelThread lists it (pipe its output in): a CPU thread or a task.</summary>
        [Parameter(ParameterSetName = Stopped, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        public string? ThreadId { get; set; }

        /// <summary>The address of a struct task_struct (Get-KernelTask's Address binds it): that task's stack, from BTF's layout.</summary>
        [Parameter(ParameterSetName = Stopped, ValueFromPipelineByPropertyName = true)]
        [Alias("Address")]
        [KernelAddressTransformation]
        public KernelAddress? TaskAddress { get; set; }

        /// <summary>Name and type the innermost frame's arguments from BTF when it is stopped at a function's entry.</summary>
        [Parameter]
        public SwitchParameter Arguments { get; set; }

        /// <summary>At most this many frames.</summary>
        [Parameter]
        [ValidateRange(1, 4096)]
        public int MaxFrames { get; set; } = 64;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            KernelDebugClient client = session.Client;
            if (client.State != TargetState.Stopped)
                throw Fail(KgdbOeErrorId.InvalidState, ErrorCategory.InvalidOperation, session,
                    $"Cannot unwind a stack: the target {session.Endpoint} is running. Stop it with Suspend-KernelTarget or Wait-KernelTarget first.");
            if (ThreadId != null && TaskAddress != null)
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, ThreadId, "Give -ThreadId or -TaskAddress, not both.");
            bool byTask = ParameterSetName == Stopped && TaskAddress != null;
            string? thread = ParameterSetName == ByCpu ? CpuThreadId(session.Kind, Cpu) : ThreadId;
            object errorTarget = (object?)thread ?? session;
            var memory = new ClientMemory(client);
            UnwindStart? taskStart = null;
            int? taskCpu = null;
            if (byTask)
            {
                ulong task = Resolve(session, TaskAddress!);
                errorTarget = "0x" + task.ToString("x16", CultureInfo.InvariantCulture);
                (taskStart, taskCpu) = TaskStart(session, task, errorTarget);
                // A task running on a CPU when the kernel stopped: its switch frame is stale, that CPU's registers are live.
                if (taskStart == null) thread = CpuThreadId(session.Kind, taskCpu!.Value);
            }

            // The stopped CPU's registers, read once per pipeline: the kernel stays stopped while it runs.
            RegisterSet stopped = _stopped ??= Call(session, errorTarget, ErrorCategory.ReadError, (c, ct) => c.ReadRegistersAsync(null, ct));
            RegisterSet registers = stopped;
            if (thread != null)
            {
                RegisterSet selected = Call(session, errorTarget, ErrorCategory.ReadError, (c, ct) => c.ReadRegistersAsync(thread, ct));
                // The stopped CPU's own thread: use the registers read without Hg, whose pc the client rewinds
                // after a software breakpoint (KGDB reports it one past the int3).
                if (Value(selected, "rsp") != Value(stopped, "rsp")) registers = selected;
            }

            UnwindStart start;
            ulong rip = Value(registers, "rip");
            if (taskStart != null) start = taskStart;
            else if (rip == 0 && thread != null)
            {
                // A sleeping task (KGDB's sleeping_thread_to_gdb_regs: pc 0, sp = thread.sp): start at its
                // struct inactive_task_frame, whose ret_addr is where __switch_to_asm returns.
                ulong threadSp = Value(registers, "rsp");
                byte[] frame = Call(session, errorTarget, ErrorCategory.ReadError,
                    (c, ct) => c.ReadMemoryAsync(threadSp, UnwindStart.InactiveTaskFrameSize, null, ct));
                ulong bp = BitConverter.ToUInt64(frame, UnwindStart.InactiveTaskFrameBp);
                ulong ret = BitConverter.ToUInt64(frame, UnwindStart.InactiveTaskFrameReturnAddress);
                start = UnwindStart.FromSwitchFrame(threadSp, bp, ret, IsForkReturn(session, ret));
            }
            else
            {
                var values = new Dictionary<string, ulong>(StringComparer.OrdinalIgnoreCase);
                foreach (Register r in registers) values[r.Name] = r.Value;
                start = new UnwindStart(rip, Value(registers, "rsp"), Value(registers, "rbp"), true, values);
            }

            OrcTable? table = TableOf(session, memory);
            if (table == null)
                WriteWarning($"The session's symbols name no ORC table (__start_orc_unwind_ip): unwinding by frame pointers only, every frame after the first unreliable.");
            UnwindResult result = Call(session, errorTarget, ErrorCategory.ReadError,
                (c, ct) => new OrcUnwinder(table, ModuleTablesOf(session, memory, table, ct)).UnwindAsync(memory, start, MaxFrames, ct, OrcUnwinder.BlockSizeFor(c.MaxReadChunk)));
            int? cpu = ParameterSetName == ByCpu ? Cpu : taskCpu ?? (thread == null ? client.LastStop?.Cpu : null);
            IReadOnlyList<KernelFunctionArgument>? arguments = null;
            if (Arguments && taskStart == null && !(rip == 0 && thread != null) && result.Frames.Count > 0)
                arguments = EntryArguments(session, result.Frames[0].Pc, registers);
            foreach (StackFrame f in result.Frames)
                WriteObject(new KernelStackFrame(session, f, byTask ? thread : thread ?? client.LastStop?.ThreadId, cpu, f.Index == 0 ? arguments : null));
            if (result.End == UnwindEnd.Failed)
            {
                ulong pc = result.FailedPc ?? 0;
                string where = Show(session, pc);
                WriteError(new ErrorRecord(
                    new InvalidOperationException($"The frame at {where} cannot be unwound: {result.Failure?.TrimEnd('.')}. The {result.Frames.Count} frame(s) before it were written."),
                    KgdbOeErrorId.UnwindFailed, ErrorCategory.InvalidData, "0x" + pc.ToString("x16", CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>
        /// A task's start from its struct task_struct (offsets from BTF): its switch frame at thread.sp
        /// (arch/x86/include/asm/switch_to.h), or (null, cpu) when task->on_cpu says it was running on that CPU.
        /// </summary>
        private (UnwindStart? Start, int? Cpu) TaskStart(KernelTargetSession session, ulong task, object errorTarget)
        {
            Types.BtfTypeGraph types = Await(ct => session.GetTypesAsync(ct));
            Types.StructType taskStruct = types.FindStruct("task_struct")
                ?? throw Fail(KgdbOeErrorId.TypeNotFound, ErrorCategory.ObjectNotFound, "struct task_struct", "The kernel's BTF has no struct task_struct.");
            ulong threadSp = Offset(taskStruct, "thread") + Offset(types.FindStruct("thread_struct"), "sp");
            ulong onCpu = Offset(taskStruct, "on_cpu");
            ulong cpuField = taskStruct.FindMember("thread_info") is Types.StructMember ti && types.FindStruct("thread_info")?.FindMember("cpu") is Types.StructMember c
                ? ti.Offset + c.Offset : Offset(taskStruct, "cpu");
            byte[] running = Call(session, errorTarget, ErrorCategory.ReadError, (cl, ct) => cl.ReadMemoryAsync(task + onCpu, 4, null, ct));
            if (BitConverter.ToInt32(running, 0) != 0)
            {
                byte[] cpu = Call(session, errorTarget, ErrorCategory.ReadError, (cl, ct) => cl.ReadMemoryAsync(task + cpuField, 4, null, ct));
                return (null, BitConverter.ToInt32(cpu, 0));
            }
            byte[] spBytes = Call(session, errorTarget, ErrorCategory.ReadError, (cl, ct) => cl.ReadMemoryAsync(task + threadSp, 8, null, ct));
            ulong sp = BitConverter.ToUInt64(spBytes, 0);
            byte[] frame = Call(session, errorTarget, ErrorCategory.ReadError,
                (cl, ct) => cl.ReadMemoryAsync(sp, UnwindStart.InactiveTaskFrameSize, null, ct));
            ulong ret = BitConverter.ToUInt64(frame, UnwindStart.InactiveTaskFrameReturnAddress);
            return (UnwindStart.FromSwitchFrame(sp, BitConverter.ToUInt64(frame, UnwindStart.InactiveTaskFrameBp), ret, IsForkReturn(session, ret)), null);
        }

        /// <summary>The x86-64 SysV argument registers, in order.</summary>
        private static readonly string[] ArgumentRegisters = { "rdi", "rsi", "rdx", "rcx", "r8", "r9" };

        /// <summary>
        /// The arguments of the function whose first instruction is at <paramref name="pc"/>, from its BTF prototype
        /// (BTF_KIND_FUNC → FUNC_PROTO) and the argument registers; null when pc is not a function's entry or BTF
        /// has no such function (a warning says why).
        /// </summary>
        private IReadOnlyList<KernelFunctionArgument>? EntryArguments(KernelTargetSession session, ulong pc, RegisterSet registers)
        {
            Symbols.SymbolLocation? at = session.Symbols?.Lookup(pc);
            if (at == null || at.Offset != 0)
            {
                WriteWarning($"No arguments: {Show(session, pc)} is not a function's first instruction, where the registers still hold them.");
                return null;
            }
            Types.BtfTypeGraph types = Await(ct => session.GetTypesAsync(ct));
            // Several names may share the entry (__x64_sys_getppid, __do_sys_getppid): the first BTF knows wins.
            Types.FunctionType? function = types.FindFunction(at.Name);
            if (function == null && session.Symbols != null)
                foreach (string name in session.Symbols.Names)
                    if (session.Symbols.TryGetAddress(name, out ulong a) && a == at.SymbolAddress && (function = types.FindFunction(name)) != null) break;
            if (function == null)
            {
                WriteWarning($"No arguments: the kernel's BTF has no function {at.Name}.");
                return null;
            }
            var result = new List<KernelFunctionArgument>();
            IReadOnlyList<Types.FunctionParameter> parameters = function.Prototype.Parameters;
            for (int i = 0; i < parameters.Count && i < ArgumentRegisters.Length; i++)
                result.Add(new KernelFunctionArgument(i, parameters[i].Name, parameters[i].Type.DisplayName, ArgumentRegisters[i], Value(registers, ArgumentRegisters[i])));
            return result;
        }

        private static ulong Offset(Types.StructType? type, string member) =>
            type?.FindMember(member) is Types.StructMember m ? m.Offset
                : throw Fail(KgdbOeErrorId.MemberNotFound, ErrorCategory.ObjectNotFound, (type?.Name ?? "?") + "." + member,
                    $"The kernel's BTF has no member '{member}' in struct {type?.Name ?? "?"}: cannot find a task's saved stack.");

        private static ulong Value(RegisterSet registers, string name) =>
            registers.TryGetValue(name, out Register? r) && r != null ? r.Value : 0;

        /// <summary>The thread id of CPU n's thread: KGDB's shadow thread -(n+2), QEMU's vCPU n+1.</summary>
        private static string CpuThreadId(TargetKind kind, int cpu) => kind == TargetKind.Kgdb
            ? unchecked((uint)(-(cpu + 2))).ToString("x", CultureInfo.InvariantCulture)
            : (cpu + 1).ToString("x", CultureInfo.InvariantCulture);

        /// <summary>A new task first "returns" into ret_from_fork_asm (6.12) / ret_from_fork (6.1): a signal frame there.</summary>
        private static bool IsForkReturn(KernelTargetSession session, ulong ip) =>
            session.Symbols != null &&
            ((session.Symbols.TryGetAddress("ret_from_fork_asm", out ulong a) && a == ip) ||
             (session.Symbols.TryGetAddress("ret_from_fork", out ulong b) && b == ip));

        /// <summary>
        /// The stopped CPU's stack from <paramref name="registers"/> (read without Hg, so pc is rewound after a software
        /// breakpoint), with the session's cached ORC tables: for cmdlets that need frames without a pipeline of their own
        /// (Step-KernelTarget -Out, Watch-KernelBreakpoint -Stack).
        /// </summary>
        internal static UnwindResult UnwindStopped(KernelTargetSession session, RegisterSet registers, int maxFrames, System.Threading.CancellationToken ct)
        {
            var memory = new ClientMemory(session.Client);
            var values = new Dictionary<string, ulong>(StringComparer.OrdinalIgnoreCase);
            foreach (Register r in registers) values[r.Name] = r.Value;
            var start = new UnwindStart(Value(registers, "rip"), Value(registers, "rsp"), Value(registers, "rbp"), true, values);
            OrcTable? table = TableOf(session, memory);
            return new OrcUnwinder(table, ModuleTablesOf(session, memory, table, ct))
                .UnwindAsync(memory, start, maxFrames, ct, OrcUnwinder.BlockSizeFor(session.Client.MaxReadChunk)).GetAwaiter().GetResult();
        }

        private static OrcTable? TableOf(KernelTargetSession session, ITargetMemory memory)
        {
            if (session.Symbols == null) return null;
            return OrcTables.GetValue(session, s => new OrcHolder(OrcTable.FromSymbols(memory, s.Symbols!, OrcUnwinder.BlockSizeFor(s.Client.MaxReadChunk)))).Table;
        }

        /// <summary>
        /// The loaded modules' ORC tables (read when a frame is in module code: with kgdboe's CPU parking,
        /// every other CPU's first frame is), or null without vmlinux ORC or without BTF for struct module.
        /// </summary>
        private static ModuleOrcTables? ModuleTablesOf(KernelTargetSession session, ITargetMemory memory, OrcTable? table, System.Threading.CancellationToken ct)
        {
            if (table == null || session.Symbols == null) return null;
            Types.BtfTypeGraph types;
            try
            {
                // Loaded once per session (and cached on disk by the kernel's banner).
                types = session.GetTypesAsync(ct).GetAwaiter().GetResult();
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // No BTF (or it cannot be read): module frames fall back to frame pointers, marked unreliable.
                return null;
            }
            var context = new Kernel.KernelContext(types, new Kernel.ClientKernelMemory(session.Client), session.Symbols);
            return new ModuleOrcTables(context, memory, table.Layout, OrcUnwinder.BlockSizeFor(session.Client.MaxReadChunk));
        }

        private sealed class OrcHolder
        {
            public OrcHolder(OrcTable? table) => Table = table;
            public OrcTable? Table { get; }
        }
    }
}
