using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;
using KgdbOe.Session;

namespace KgdbOe.Client
{
    /// <summary>
    /// Run control of one target, in one place: interrupt, continue, single step, waiting for a stop and
    /// telling what the stop was (our breakpoint, a step, an interrupt, a watchpoint), with the KGDB rules
    /// around software breakpoints (pc one past the int3, rewound before the next resume and stepped over
    /// with the breakpoint lifted). It speaks through <see cref="Session.RemoteSession"/>'s public API only
    /// (ResumeAsync, WaitForStopOrProbeAsync, RequestAsync, SendInterruptAsync), so what lies below that API
    /// can change without touching it; for the lossy conversation's probe for a stop reply that never came
    /// it tells what a stop at a given pc means (<see cref="IStopProbeTarget"/>).
    /// Not thread-safe on its own: the client calls it one operation at a time.
    /// </summary>
    internal sealed class RunControl : IStopProbeTarget
    {
        private readonly KernelDebugClient _client;
        private bool _interruptRequested;
        private bool _stepping;

        public RunControl(KernelDebugClient client)
        {
            _client = client;
        }

        /// <summary>Running, Stopped or Detached, as far as this client knows.</summary>
        public TargetState State { get; set; } = TargetState.Running;

        /// <summary>The stop the target is in (or was last in).</summary>
        public StopEvent? LastStop { get; set; }

        /// <summary>KGDB: the stop left pc one past this software breakpoint; resume must rewind and step over.</summary>
        public Breakpoint? RewindPending { get; set; }


        /// <summary>
        /// While the client has breakpoints of its own (the module-load hook) a running target is watched in the
        /// background: their stops are handled and resumed at once, so the kernel goes on by itself even when
        /// nobody waits; a waiter takes the first stop that is the user's. Null when nothing watches.
        /// </summary>
        private Task<StopEvent>? _watch;

        public async Task<StopEvent> InterruptAsync(CancellationToken ct)
        {
            _client.ThrowIfDetached();
            if (State == TargetState.Stopped && LastStop != null) return LastStop;
            _interruptRequested = true;
            await _client.Session.SendInterruptAsync(ct).ConfigureAwait(false);
            if (_watch != null) return await WaitForStopAsync(TimeSpan.FromTicks(_client.Options.RequestTimeout.Ticks * _client.Options.MaxAttempts), ct).ConfigureAwait(false);
            return await WaitForStopAsync(TimeSpan.FromTicks(_client.Options.RequestTimeout.Ticks * _client.Options.MaxAttempts), ct, onQuiet: () => _client.Session.SendInterruptAsync(ct)).ConfigureAwait(false);
        }

        public async Task ResumeAsync(CancellationToken ct)
        {
            _client.EnsureStopped("resume");
            await ResumeCoreAsync(ct).ConfigureAwait(false);
            bool watched;
            lock (_client.Gate) watched = _client.BreakpointList.Any(bp => bp.IsInternal);
            // The watch outlives this call's token: it ends with the next stop that is the user's, or with the session.
            if (watched) _watch = Task.Run(() => WaitForStopAsync(TimeSpan.FromDays(3650), CancellationToken.None, null));
        }

        private async Task ResumeCoreAsync(CancellationToken ct)
        {
            await StepOverBreakpointAtPcAsync(ct, returnStop: false).ConfigureAwait(false);
            _interruptRequested = false;
            _client.Session.InterruptProbeSent = false;
            await _client.Session.ResumeAsync(Requests.Continue, ct).ConfigureAwait(false);
            State = TargetState.Running;
        }

        public async Task<StopEvent> StepAsync(CancellationToken ct)
        {
            _client.EnsureStopped("step");
            StopEvent? stepped = await StepOverBreakpointAtPcAsync(ct, returnStop: true).ConfigureAwait(false);
            if (stepped != null) return stepped;
            return await StepOnceAsync(ct).ConfigureAwait(false);
        }

        /// <summary>
        /// One instruction. readPc false (stepping over our own breakpoint before a resume) skips reading pc:
        /// nobody looks at it, and if the stop we took was a stale copy, the '+' in front of our next packet
        /// acks the real one still waiting in the stub.
        /// </summary>
        public async Task<StopEvent> StepOnceAsync(CancellationToken ct, bool readPc = true, ulong? from = null)
        {
            _stepping = true;
            _stepFrom = from ?? (RewindPending == null && LastStop != null && LastStop.ProgramCounter != 0 ? LastStop.ProgramCounter : (ulong?)null);
            try
            {
                _client.Session.InterruptProbeSent = false;
                await _client.Session.ResumeAsync(Requests.Step, ct).ConfigureAwait(false);
                State = TargetState.Running;
                TimeSpan timeout = TimeSpan.FromTicks(_client.Options.RequestTimeout.Ticks * _client.Options.MaxAttempts);
                if (readPc) return await WaitForStopAsync(timeout, ct).ConfigureAwait(false);
                DateTime deadline = DateTime.UtcNow + timeout;
                string? payload = null;
                while (payload == null)
                {
                    TimeSpan left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) throw new TargetTimeoutException($"{_client.Endpoint} did not stop after a single step within {timeout.TotalSeconds:0.###} s.", "s");
                    payload = await _client.Session.WaitForStopOrProbeAsync(left, ct, null, this).ConfigureAwait(false);
                }
                _probedPc = null;
                State = TargetState.Stopped;
                StopReply.TryParse(payload, out StopReply? reply);
                var stop = new StopEvent(reply?.Signal ?? 5, StopReason.Step, reply?.Thread, _client.CpuOf(reply?.Thread), 0, null);
                LastStop = stop;
                return stop;
            }
            finally
            {
                _stepping = false;
            }
        }

        /// <summary>
        /// When pc sits on one of our breakpoints, execute that one instruction with the breakpoint lifted.
        /// KGDB: pc is one past the int3, so it is rewound first (P, idempotent, rather than "s ADDR", whose
        /// duplicate on a lossy link would execute the instruction twice).
        /// </summary>
        private async Task<StopEvent?> StepOverBreakpointAtPcAsync(CancellationToken ct, bool returnStop)
        {
            Breakpoint? bp = RewindPending;
            if (bp == null && LastStop != null)
            {
                lock (_client.Gate)
                    bp = _client.BreakpointList.FirstOrDefault(b => b.Address == LastStop.ProgramCounter &&
                        (b.Kind == BreakpointKind.Software || (b.Kind == BreakpointKind.Hardware && !_client.Dialect.ResumesOverHardwareBreakpoint)));
            }
            if (bp == null) return null;
            if (RewindPending != null)
            {
                await _client.WriteRegisterNumberAsync(_client.Dialect.Registers.ProgramCounterNumber, bp.Address, ct).ConfigureAwait(false);
                RewindPending = null;
            }
            await _client.SendBreakpointPacketAsync('z', bp, ct).ConfigureAwait(false);
            StopEvent stop = await StepOnceAsync(ct, readPc: returnStop, from: bp.Address).ConfigureAwait(false);
            await _client.SendBreakpointPacketAsync('Z', bp, ct).ConfigureAwait(false);
            return stop;
        }

        public async Task<StopEvent> WaitForStopAsync(TimeSpan timeout, CancellationToken ct)
        {
            Task<StopEvent>? watch = _watch;
            if (watch == null) return await WaitForStopAsync(timeout, ct, null).ConfigureAwait(false);
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                Task done = await Task.WhenAny(watch, Task.Delay(timeout, cts.Token)).ConfigureAwait(false);
                cts.Cancel();
                if (done != watch)
                {
                    ct.ThrowIfCancellationRequested();
                    throw new TargetTimeoutException($"{_client.Endpoint} did not stop within {timeout.TotalSeconds:0.###} s.");
                }
            }
            _watch = null;
            return await watch.ConfigureAwait(false);
        }

        private async Task<StopEvent> WaitForStopAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet)
        {
            _client.ThrowIfDetached();
            if (State == TargetState.Stopped && LastStop != null) return LastStop;
            DateTime deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TargetTimeoutException($"{_client.Endpoint} did not stop within {timeout.TotalSeconds:0.###} s.");
                string? payload = await _client.Session.WaitForStopOrProbeAsync(left, ct, onQuiet, this).ConfigureAwait(false);
                if (payload == null) continue;
                if (!StopReply.TryParse(payload, out StopReply? reply)) continue;
                if (reply!.IsExit)
                {
                    State = TargetState.Detached;
                    throw new TargetConnectionException($"The target exited ('{payload}').", payload);
                }
                State = TargetState.Stopped;
                ulong pc;
                if (_probedPc != null) { pc = _probedPc.Value; _probedPc = null; }
                else
                {
                    try
                    {
                        pc = await _client.ReadProgramCounterAsync(ct).ConfigureAwait(false);
                    }
                    catch (TargetTimeoutException) when (_client.Session.StopReplyMayBeStale && DateTime.UtcNow < deadline)
                    {
                        // A duplicated old stop reply: the target is in fact running. Keep waiting for the real one.
                        State = TargetState.Running;
                        continue;
                    }
                }
                StopEvent stop = Interpret(reply, pc);
                if (stop.Breakpoint?.OnHit is Func<StopEvent, CancellationToken, Task<bool>> onHit && !_stepping)
                {
                    // The client's own breakpoint: its handler runs with the kernel stopped, then the kernel goes on.
                    LastStop = stop;
                    bool resume;
                    try
                    {
                        resume = await onHit(stop, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!(e is OperationCanceledException) && !(e is ObjectDisposedException))
                    {
                        _client.Session.Log.Note($"internal breakpoint at 0x{stop.ProgramCounter:x}: {e.Message}");
                        resume = true;
                    }
                    if (resume && State == TargetState.Stopped)
                    {
                        await ResumeCoreAsync(ct).ConfigureAwait(false);
                        continue;
                    }
                }
                if (stop.Reason == StopReason.Interrupt && _client.Session.InterruptProbeSent && !_interruptRequested)
                {
                    // Our own 0x03 probe (sent when a resume's ack was lost) stopped it: carry on.
                    _client.Session.InterruptProbeSent = false;
                    await _client.Session.ResumeAsync(Requests.Continue, ct).ConfigureAwait(false);
                    State = TargetState.Running;
                    continue;
                }
                _interruptRequested = false;
                LastStop = stop;
                return stop;
            }
        }

        /// <summary>
        /// Runs until <paramref name="address"/> is reached by the thread <paramref name="threadId"/> (any thread when null)
        /// with its stack pointer above <paramref name="spAbove"/> (any when null: a return address reached by a deeper
        /// recursion or another task is passed over), through a breakpoint of the client's own that is lifted again.
        /// Another stop on the way (a user's breakpoint) is returned as it is. When a user's breakpoint already sits at
        /// the address, the next stop is returned. TargetTimeoutException after <paramref name="timeout"/>: the kernel runs on
        /// and the client's breakpoint lifts itself at its next hit.
        /// </summary>
        public async Task<StopEvent> RunToAsync(ulong address, string? threadId, ulong? spAbove, TimeSpan timeout, CancellationToken ct)
        {
            _client.EnsureStopped("run to an address");
            bool userBreakpoint;
            lock (_client.Gate)
                userBreakpoint = _client.BreakpointList.Any(b => !b.IsInternal && !b.IsPending && b.Address == address && (b.Kind == BreakpointKind.Software || b.Kind == BreakpointKind.Hardware));
            if (userBreakpoint)
            {
                await ResumeAsync(ct).ConfigureAwait(false);
                return await WaitForStopAsync(timeout, ct).ConfigureAwait(false);
            }
            bool armed = true;
            Breakpoint? temporary = null;
            int spNumber = _client.Dialect.Registers.TryGetNumber("rsp", out int n) ? n : -1;
            async Task<bool> OnHitAsync(StopEvent stop, CancellationToken token)
            {
                if (!armed)
                {
                    // A wait that gave up: lift the breakpoint now that the kernel is stopped, and go on.
                    if (temporary != null) await _client.RemoveBreakpointAsync(temporary, token).ConfigureAwait(false);
                    return true;
                }
                if (threadId != null && stop.ThreadId != null && !string.Equals(stop.ThreadId, threadId, StringComparison.OrdinalIgnoreCase)) return true;
                if (spAbove != null && spNumber >= 0)
                {
                    string reply = await _client.Session.RequestAsync(Requests.ReadRegister(spNumber), ReplyShape.HexDigits(16), token).ConfigureAwait(false);
                    if (reply.Length == 16 && BitConverter.ToUInt64(Hex.Decode(reply), 0) <= spAbove.Value) return true;
                }
                return false;
            }
            try
            {
                temporary = await _client.SetInternalBreakpointAsync(address, OnHitAsync, ct).ConfigureAwait(false);
            }
            catch (TargetErrorException) when (_client.Dialect.SupportsKind(BreakpointKind.Hardware))
            {
                // KGDB refuses an int3 in code it must not trap in (the kprobe blocklist, noinstr text such as
                // do_syscall_64 and x64_sys_call, where a system call's return address lies): a debug register is allowed there.
                temporary = await _client.SetInternalBreakpointAsync(address, OnHitAsync, ct, BreakpointKind.Hardware).ConfigureAwait(false);
            }
            StopEvent result;
            try
            {
                await ResumeAsync(ct).ConfigureAwait(false);
                result = await WaitForStopAsync(timeout, ct).ConfigureAwait(false);
            }
            catch
            {
                armed = false;
                if (State == TargetState.Stopped) await _client.RemoveBreakpointAsync(temporary, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            armed = false;
            await _client.RemoveBreakpointAsync(temporary, ct).ConfigureAwait(false);
            if (result.Breakpoint == temporary)
            {
                result = new StopEvent(result.Signal, StopReason.Step, result.ThreadId, result.Cpu, address, null);
                LastStop = result;
            }
            return result;
        }

        private ulong? _probedPc;

        /// <summary>Where the thread stood when we sent s (null: unknown); a probe finding pc still there means s was lost.</summary>
        private ulong? _stepFrom;

        /// <inheritdoc/>
        int IStopProbeTarget.ProgramCounterNumber => _client.Dialect.Registers.ProgramCounterNumber;

        /// <inheritdoc/>
        string IStopProbeTarget.PendingResume => _stepping ? Requests.Step : Requests.Continue;

        /// <summary>
        /// Stepping: pc still where s left means s was lost. Continuing: a stop at none of our breakpoints that
        /// nobody asked for (no interrupt of the user's, no 0x03 probe of the session's) means c was lost.
        /// </summary>
        bool IStopProbeTarget.ResumeWasLost(ulong pc)
        {
            bool known;
            lock (_client.Gate)
                known = _client.BreakpointList.Any(b => (b.Kind == BreakpointKind.Software && (_client.Dialect.PcAfterSoftwareBreakpoint ? b.Address + 1 : b.Address) == pc) ||
                                              (b.Kind == BreakpointKind.Hardware && b.Address == pc));
            return _stepping ? _stepFrom == pc : !known && !_interruptRequested && !_client.Session.InterruptProbeSent;
        }

        /// <summary>The next stop taken stands at this pc, already read by the probe (no second read of pc).</summary>
        void IStopProbeTarget.StoppedAt(ulong pc) => _probedPc = pc;

        private StopEvent Interpret(StopReply reply, ulong pc)
        {
            Breakpoint? hit = null;
            StopReason reason;
            ulong reportedPc = pc;
            lock (_client.Gate)
            {
                if (reply.WatchAddress is ulong watched)
                    hit = _client.BreakpointList.FirstOrDefault(b => IsWatch(b.Kind) && watched >= b.Address && watched < b.Address + (ulong)b.Length);
                if (hit == null && _client.Dialect.PcAfterSoftwareBreakpoint && reply.Signal == 5)
                {
                    hit = _client.BreakpointList.FirstOrDefault(b => b.Kind == BreakpointKind.Software && b.Address + 1 == pc);
                    if (hit != null) { RewindPending = hit; reportedPc = hit.Address; }
                }
                if (hit == null)
                    hit = _client.BreakpointList.FirstOrDefault(b => (b.Kind == BreakpointKind.Software || b.Kind == BreakpointKind.Hardware) && b.Address == pc);
                if (hit == null && !_client.Dialect.ReportsWatchAddress && reply.Signal == 5 && !_stepping && !_interruptRequested && !_client.Session.InterruptProbeSent)
                {
                    // KGDB names no watch address: a trap that is no breakpoint of ours is the watchpoint, if there is one.
                    List<Breakpoint> watches = _client.BreakpointList.Where(b => IsWatch(b.Kind)).ToList();
                    if (watches.Count >= 1) hit = watches[0];
                }
            }
            if (hit != null)
            {
                hit.CountHit();
                reason = IsWatch(hit.Kind) ? StopReason.Watchpoint : StopReason.Breakpoint;
                if (_stepping && reason == StopReason.Breakpoint) reason = StopReason.Step;
            }
            else if (_stepping) reason = StopReason.Step;
            else if (_interruptRequested || _client.Session.InterruptProbeSent || reply.Signal == 2) reason = StopReason.Interrupt;
            else if (reply.Signal == 5) reason = StopReason.Breakpoint;
            else reason = StopReason.Signal;
            string? thread = reply.Thread;
            return new StopEvent(reply.Signal, reason, thread, _client.CpuOf(thread), reportedPc, hit);
        }

        private static bool IsWatch(BreakpointKind kind) =>
            kind == BreakpointKind.WriteWatch || kind == BreakpointKind.ReadWatch || kind == BreakpointKind.AccessWatch;
    }
}
