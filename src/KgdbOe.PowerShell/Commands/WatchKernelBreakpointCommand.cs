using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using KgdbOe.Client;
using KgdbOe.Symbols;
using Breakpoint = KgdbOe.Client.Breakpoint;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// The collecting mode: lets the kernel run and, at each hit of the watched breakpoints, writes one record
    /// (time, CPU, task, pc, the function's arguments typed from BTF, optionally the stack) and resumes at once,
    /// until -Count records, -Timeout or Ctrl-C; the kernel is left running and the breakpoints as they were.
    /// -Skip passes over the first hits, -Condition (a scriptblock run in the client with $_ the record) drops the
    /// hits it does not accept, resuming them at once.
    /// </summary>
    [Cmdlet(VerbsCommon.Watch, "KernelBreakpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByInputObject)]
    [OutputType(typeof(KernelBreakpointHit))]
    public sealed class WatchKernelBreakpointCommand : KernelTargetCmdlet
    {
        private const string ByInputObject = "InputObject";
        private const string ById = "Id";

        /// <summary>x86-64 SysV argument registers in order.</summary>
        private static readonly string[] ArgumentRegisters = { "rdi", "rsi", "rdx", "rcx", "r8", "r9" };

        private readonly List<KernelBreakpoint> _watched = new List<KernelBreakpoint>();

        /// <summary>The breakpoints to watch (from Set-KernelBreakpoint or Get-KernelBreakpoint); all of the session's when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
        public KernelBreakpoint[]? InputObject { get; set; }

        /// <summary>The ids of the breakpoints to watch.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ById)]
        public int[] Id { get; set; } = new int[0];

        /// <summary>Stop after this many records (hits that were skipped or failed the condition do not count).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; } = int.MaxValue;

        /// <summary>Seconds to watch; no limit when negative (the default). Ctrl-C always ends it.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = -1;

        /// <summary>Resume this many hits at first without a record (gdb's ignore count).</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int Skip { get; set; }

        /// <summary>Runs in the client at each hit with $_ the record: a hit it does not accept ($false, $null, nothing) is resumed at once.</summary>
        [Parameter]
        public ScriptBlock? Condition { get; set; }

        /// <summary>Unwind the stack at each hit (Get-KernelStack) into the record's Stack.</summary>
        [Parameter]
        public SwitchParameter Stack { get; set; }

        /// <summary>How many hits the last run saw, returned, skipped and dropped, and the client's time per hit (for benchmarks).</summary>
        public static WatchStatistics? LastStatistics { get; private set; }

        protected override void ProcessRecordCore()
        {
            if (InputObject != null) _watched.AddRange(InputObject);
        }

        protected override void EndProcessing() => Guard(Watch);

        private void Watch()
        {
            KernelTargetSession session = Target ?? _watched.FirstOrDefault()?.Target ?? Session;
            if (session.IsClosed) { _ = Session; return; }
            List<Breakpoint> breakpoints = ChooseBreakpoints(session);
            string what = string.Join(", ", breakpoints.Select(b => "#" + b.Id));
            if (!ShouldProcess(session.Name, $"Let the kernel run and collect the hits of {what}")) return;

            var stats = new WatchStatistics();
            LastStatistics = stats;
            Stopwatch clock = Stopwatch.StartNew();
            TimeSpan? limit = Timeout < 0 ? (TimeSpan?)null : TimeSpan.FromSeconds(Timeout);
            var functions = new Dictionary<ulong, Types.FunctionType?>();
            Types.BtfTypeGraph? types = null;
            int returned = 0, skipped = 0;
            bool atWatchedHit = false;
            bool stoppedByUs = false; // the kernel ran under this watch: a watched stop now is a hit it took
            try
            {
                if (session.Client.State == TargetState.Stopped)
                    Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.ResumeAsync(ct));
                stoppedByUs = true;
                while (returned < Count)
                {
                    TimeSpan wait = limit == null ? TimeSpan.FromHours(1) : limit.Value - clock.Elapsed;
                    if (wait <= TimeSpan.Zero) break;
                    StopEvent stop;
                    try
                    {
                        stop = Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.WaitForStopAsync(wait, ct));
                    }
                    catch (KgdbOeErrorException e) when (e.ErrorRecord.FullyQualifiedErrorId == KgdbOeErrorId.Timeout)
                    {
                        if (limit == null) continue;
                        break;
                    }
                    long hitStarted = clock.ElapsedTicks;
                    if (!(stop.Breakpoint is Breakpoint hit) || !breakpoints.Contains(hit))
                    {
                        // Something else stopped the kernel (another breakpoint, an oops): that stop is the user's to see.
                        stoppedByUs = false;
                        WriteWarning($"The kernel stopped for something else ({new KernelStop(session, stop)}): the watch ends and the kernel stays stopped.");
                        return;
                    }
                    atWatchedHit = true;
                    stats.Hits++;
                    if (skipped < Skip)
                    {
                        skipped++;
                        stats.Skipped++;
                        Resume(session, ref atWatchedHit);
                        continue;
                    }
                    KernelBreakpointHit record = Describe(session, stop, hit, returned + 1, functions, ref types);
                    if (Condition != null && !Accepts(record))
                    {
                        stats.Dropped++;
                        stats.ConditionTicks += clock.ElapsedTicks - hitStarted;
                        Resume(session, ref atWatchedHit);
                        continue;
                    }
                    if (Stack)
                    {
                        RegisterSet registers = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadRegistersAsync(null, ct));
                        Unwind.UnwindResult unwound = GetKernelStackCommand.UnwindStopped(session, registers, 64, Cancellation);
                        record.Stack = unwound.Frames.Select(f => new KernelStackFrame(session, f, stop.ThreadId, record.Cpu)).ToArray();
                    }
                    returned++;
                    stats.Returned++;
                    Resume(session, ref atWatchedHit);
                    stats.ClientTicks += clock.ElapsedTicks - hitStarted;
                    WriteObject(record);
                }
                if (returned < Count && Count != int.MaxValue)
                {
                    Breakpoint? pending = breakpoints.FirstOrDefault(b => b.IsPending);
                    if (pending != null)
                        WriteError(Fail(KgdbOeErrorId.ModuleNotLoaded, ErrorCategory.OperationTimeout, new KernelBreakpoint(session, pending),
                            $"The module {pending.Module} did not load within {Timeout} s: breakpoint #{pending.Id} on {pending.Symbol} is still pending. {returned} hit(s) were returned.").ErrorRecord);
                    else
                        WriteError(Fail(KgdbOeErrorId.Timeout, ErrorCategory.OperationTimeout, session,
                            $"{returned} of {Count} hit(s) within {Timeout} s; the kernel runs on.").ErrorRecord);
                }
            }
            finally
            {
                stats.Elapsed = clock.Elapsed;
                // Ctrl-C or a failure at a hit: the kernel is never left stopped by the watch.
                // A stop that came in as Ctrl-C abandoned the wait is one of ours too when it is a watched breakpoint's.
                bool watchedStop = atWatchedHit || (session.Client.LastStop?.Breakpoint is Breakpoint last && breakpoints.Contains(last) && stoppedByUs);
                if (watchedStop && !session.IsClosed && session.Client.State == TargetState.Stopped)
                {
                    try
                    {
                        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                            session.Client.ResumeAsync(cts.Token).GetAwaiter().GetResult();
                    }
                    catch (Exception) when (!session.IsClosed)
                    {
                        // Best effort: the error that brought us here is the one to report.
                    }
                }
            }
        }

        private void Resume(KernelTargetSession session, ref bool atWatchedHit)
        {
            Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.ResumeAsync(ct));
            atWatchedHit = false;
        }

        private List<Breakpoint> ChooseBreakpoints(KernelTargetSession session)
        {
            IReadOnlyList<Breakpoint> all = session.Client.Breakpoints;
            List<Breakpoint> chosen;
            if (ParameterSetName == ById)
            {
                chosen = new List<Breakpoint>();
                foreach (int id in Id)
                {
                    Breakpoint? b = all.FirstOrDefault(x => x.Id == id);
                    if (b == null) throw Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, id, $"'{session.Name}' has no breakpoint {id}.");
                    chosen.Add(b);
                }
            }
            else if (_watched.Count > 0)
            {
                chosen = _watched.Select(w => w.Breakpoint).ToList();
                foreach (Breakpoint b in chosen)
                    if (!all.Contains(b)) throw Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, b.Id, $"'{session.Name}' has no breakpoint {b.Id}: it was removed.");
            }
            else chosen = all.ToList();
            if (chosen.Count == 0)
                throw Fail(KgdbOeErrorId.BreakpointNotFound, ErrorCategory.ObjectNotFound, session, $"'{session.Name}' has no breakpoint to watch: set one with Set-KernelBreakpoint.");
            return chosen;
        }

        /// <summary>The record of one hit: registers (one 'g'), the CPU (kgdb_active), the task's name once per pid.</summary>
        private KernelBreakpointHit Describe(KernelTargetSession session, StopEvent stop, Breakpoint hit, int index,
            Dictionary<ulong, Types.FunctionType?> functions, ref Types.BtfTypeGraph? types)
        {
            DateTime time = DateTime.Now;
            int? taskPid = session.Kind == TargetKind.Kgdb && stop.ThreadId != null &&
                int.TryParse(stop.ThreadId, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out int p) && p > 0
                ? p : (int?)null;
            int? cpu = CpuOf(session, stop);
            // Asked at every hit: a pid keeps its number across execve() but not its name (sh -c becomes the program).
            string? command = null;
            if (taskPid != null && stop.ThreadId != null)
            {
                string thread = stop.ThreadId;
                command = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.GetThreadNameAsync(thread, ct));
            }
            IReadOnlyList<KernelFunctionArgument>? arguments = null;
            if (!functions.TryGetValue(stop.ProgramCounter, out Types.FunctionType? function))
            {
                SymbolLocation? at = session.Locate(stop.ProgramCounter);
                if (at != null && at.Offset == 0 && at.Module == null)
                {
                    types ??= session.GetTypes(Cancellation);
                    function = types.FindFunction(at.Name);
                    if (function == null && session.Symbols != null)
                        foreach (string name in session.Symbols.Names)
                            if (session.Symbols.TryGetAddress(name, out ulong a) && a == at.SymbolAddress && (function = types.FindFunction(name)) != null) break;
                }
                functions[stop.ProgramCounter] = function;
            }
            if (function != null)
            {
                RegisterSet registers = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadRegistersAsync(null, ct));
                var list = new List<KernelFunctionArgument>();
                IReadOnlyList<Types.FunctionParameter> parameters = function.Prototype.Parameters;
                for (int i = 0; i < parameters.Count && i < ArgumentRegisters.Length; i++)
                    list.Add(new KernelFunctionArgument(i, parameters[i].Name, parameters[i].Type.DisplayName, ArgumentRegisters[i],
                        registers.TryGetValue(ArgumentRegisters[i], out Register? r) && r != null ? r.Value : 0));
                arguments = list;
            }
            return new KernelBreakpointHit(session, index, time, new KernelBreakpoint(session, hit), cpu, taskPid, command,
                stop.ProgramCounter, session.Describe(stop.ProgramCounter), arguments);
        }

        private int _cpuReads;

        /// <summary>
        /// The CPU of a hit: the stub's word when it names one, else kgdb_active (kernel/debug/debug_core.c), read
        /// with a length that changes from hit to hit: on a lossy link the client never repeats a recent read length
        /// (a late duplicate gives itself away by its length), so the same 4-byte read at every hit would be split into
        /// 1-byte reads. The bytes after the atomic_t are read and ignored.
        /// </summary>
        private int? CpuOf(KernelTargetSession session, StopEvent stop)
        {
            if (stop.Cpu != null) return stop.Cpu;
            if (session.Kind != TargetKind.Kgdb || session.Symbols == null || !session.Symbols.TryGetAddress("kgdb_active", out ulong address)) return null;
            int length = 4 + (_cpuReads++ % 40);
            byte[] bytes = Call(session, session, ErrorCategory.ReadError, (client, ct) => client.ReadMemoryAsync(address, length, null, ct));
            int active = BitConverter.ToInt32(bytes, 0); // -1 when nobody is in the debugger
            return active >= 0 ? active : (int?)null;
        }

        /// <summary>Runs the condition with $_ = the hit; one that throws rejects the hit with KgdbOe.ConditionFailed.</summary>
        private bool Accepts(KernelBreakpointHit record)
        {
            try
            {
                Collection<PSObject> result = Condition!.InvokeWithContext(null, new List<PSVariable> { new PSVariable("_", record), new PSVariable("PSItem", record) });
                return result.Count > 0 && LanguagePrimitives.IsTrue(result.Count == 1 ? result[0] : (object)result);
            }
            catch (Exception e) when (!(e is PipelineStoppedException))
            {
                Exception inner = e is RuntimeException re && re.InnerException != null ? re.InnerException : e;
                WriteError(Fail(KgdbOeErrorId.ConditionFailed, ErrorCategory.InvalidOperation, record,
                    $"The condition failed at hit {record} ({inner.Message}); the hit was resumed.", e).ErrorRecord);
                return false;
            }
        }
    }

    /// <summary>What one Watch-KernelBreakpoint run cost (Watch-KernelBreakpoint's LastStatistics).</summary>
    public sealed class WatchStatistics
    {
        public int Hits { get; internal set; }
        public int Returned { get; internal set; }
        public int Skipped { get; internal set; }
        public int Dropped { get; internal set; }
        public TimeSpan Elapsed { get; internal set; }

        /// <summary>Stopwatch ticks spent between a stop and its resume for returned hits.</summary>
        internal long ClientTicks { get; set; }

        /// <summary>Stopwatch ticks spent on hits the condition dropped (record, condition, resume).</summary>
        internal long ConditionTicks { get; set; }

        /// <summary>Hits per second over the whole run.</summary>
        public double HitsPerSecond => Elapsed.TotalSeconds > 0 ? Hits / Elapsed.TotalSeconds : 0;

        /// <summary>Mean milliseconds from a returned hit's stop to its resume (record made, kernel resumed).</summary>
        public double MillisecondsPerReturnedHit => Returned == 0 ? 0 : ClientTicks * 1000.0 / Stopwatch.Frequency / Returned;

        /// <summary>Mean milliseconds from a dropped hit's stop to its resume (record made, condition run, kernel resumed).</summary>
        public double MillisecondsPerDroppedHit => Dropped == 0 ? 0 : ConditionTicks * 1000.0 / Stopwatch.Frequency / Dropped;
    }
}
