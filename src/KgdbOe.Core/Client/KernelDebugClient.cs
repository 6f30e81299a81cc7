using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Dialects;
using KgdbOe.Protocol;
using KgdbOe.Session;
using KgdbOe.Transport;
using KgdbOe.Wire;

namespace KgdbOe.Client
{
    /// <summary>
    /// One debugged target. Operations are serialised per client; clients share nothing, so any number
    /// of targets can be debugged from one process.
    /// </summary>
    public sealed partial class KernelDebugClient : IDisposable
    {
        private readonly RemoteSession _session;
        private readonly ConnectOptions _options;
        private readonly List<Breakpoint> _breakpoints = new List<Breakpoint>();
        private readonly object _gate = new object();
        private ITargetDialect _dialect;
        private int _nextBreakpointId = 1;
        private int _readSequence;
        private bool _interruptRequested;
        private bool _stepping;
        /// <summary>KGDB: the stop left pc one past this software breakpoint; resume must rewind and step over.</summary>
        private Breakpoint? _rewindPending;
        private int _disposed;
        /// <summary>The keyed v2 wire when the session runs over it (its fast memory path), else null.</summary>
        private WireTransport? _wire;

        private KernelDebugClient(TargetEndpoint endpoint, ConnectOptions options, RemoteSession session, ClientStatistics stats, ITargetDialect dialect)
        {
            Endpoint = endpoint;
            _options = options;
            _session = session;
            Statistics = stats;
            _dialect = dialect;
            _session.ConsoleText += text => ConsoleOutput?.Invoke(this, text);
        }

        public TargetEndpoint Endpoint { get; }
        public TargetKind Kind => _dialect.Kind;
        public TargetState State { get; private set; } = TargetState.Running;
        public StopEvent? LastStop { get; private set; }
        public ClientStatistics Statistics { get; }

        /// <summary>Text of the target's console packets ('O'), as it arrives.</summary>
        public event EventHandler<string>? ConsoleOutput;

        public IReadOnlyList<Breakpoint> Breakpoints { get { lock (_gate) return _breakpoints.ToArray(); } }

        /// <summary>True when the session runs over the keyed v2 wire (authenticated, encrypted, reliable).</summary>
        public bool IsKeyed => _wire != null;

        /// <summary>
        /// True when memory reads go through the module's fast path (keyed v2 wire only: binary payloads,
        /// several requests in flight, served by kgdboe itself while the kernel is stopped). Set it to false
        /// to read through the stub's 'm' packets instead (tests compare the two).
        /// </summary>
        public bool UseFastMemoryPath
        {
            get => _wire != null && _useFastMemoryPath;
            set => _useFastMemoryPath = value;
        }

        private bool _useFastMemoryPath = true;

        /// <summary>Largest memory read per request for this target (511 on KGDB, from PacketSize on QEMU).</summary>
        public int MaxReadChunk => _dialect.MaxReadChunk;

        /// <summary>The register names in 'g' order.</summary>
        public IEnumerable<string> RegisterNames => _dialect.Registers.Names;

        public static async Task<KernelDebugClient> ConnectAsync(TargetEndpoint endpoint, ConnectOptions? options, CancellationToken ct)
        {
            if (endpoint == null) throw new ArgumentNullException(nameof(endpoint));
            ConnectOptions opts = (options ?? new ConnectOptions()).Clone();
            if (opts.RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "RequestTimeout must be positive.");
            if (opts.MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxAttempts must be at least 1.");
            if (opts.Key != null && endpoint.Transport != TransportKind.Udp)
                throw new ArgumentException("A key is for kgdboe's UDP port (the keyed v2 wire), not a TCP stub.", nameof(options));
            var stats = new ClientStatistics();
            // One conversation chosen here, once: raw UDP (lossy-link rules), TCP, or the keyed v2 wire (a reliable stream).
            IPacketTransport transport = endpoint.Transport == TransportKind.Tcp
                ? new TcpTransport(endpoint.Host, endpoint.Port)
                : opts.Key != null
                    ? new WireTransport(endpoint.Host, endpoint.Port, opts.LocalPort, opts.Key, stats)
                    : (IPacketTransport)new UdpTransport(endpoint.Host, endpoint.Port, opts.LocalPort);
            return await ConnectAsync(endpoint, transport, opts, ct, stats).ConfigureAwait(false);
        }

        /// <summary>Connects over a given transport (tests use in-process peers).</summary>
        internal static async Task<KernelDebugClient> ConnectAsync(TargetEndpoint endpoint, IPacketTransport transport, ConnectOptions opts, CancellationToken ct, ClientStatistics? statistics = null)
        {
            var stats = statistics ?? new ClientStatistics();
            RemoteSession? session = null;
            KernelDebugClient? client = null;
            try
            {
                await transport.ConnectAsync(opts.ConnectTimeout, ct).ConfigureAwait(false);
                session = new RemoteSession(transport, new SessionOptions
                {
                    RequestTimeout = opts.RequestTimeout,
                    MaxAttempts = opts.MaxAttempts,
                    TrafficLog = opts.TrafficLog,
                }, stats);
                session.Start();
                ITargetDialect initial = DialectDetector.ForKind(opts.Kind ?? (endpoint.Transport == TransportKind.Udp ? TargetKind.Kgdb : TargetKind.QemuGdbStub));
                client = new KernelDebugClient(endpoint, opts, session, stats, initial) { _wire = transport as WireTransport };
                await client.AttachAsync(ct).ConfigureAwait(false);
                return client;
            }
            catch
            {
                if (client != null) client.DisposeQuietly();
                else if (session != null) session.Dispose();
                else transport.Dispose();
                throw;
            }
        }

        private async Task AttachAsync(CancellationToken ct)
        {
            if (!_options.BreakIn && Endpoint.Transport == TransportKind.Udp)
            {
                // A KGDB target can only be spoken to once it is stopped: wait for it (WaitForStopAsync / InterruptAsync).
                State = TargetState.Running;
                return;
            }
            if (_options.BreakIn) await _session.SendInterruptAsync(ct).ConfigureAwait(false);

            // The first packet also takes a KGDB stub out of kdb mode. Allow the whole connect timeout for it.
            string features = await WithinAsync(_options.ConnectTimeout, "qSupported", c =>
                _session.RequestAsync("qSupported:multiprocess-;swbreak+;hwbreak+;vContSupported+", ReplyShape.Any, c), ct).ConfigureAwait(false);
            _dialect = _options.Kind != null ? DialectDetector.ForKind(_options.Kind.Value) : DialectDetector.FromQSupported(features);
            _session.Log.Note($"target is {_dialect.Kind} (qSupported: '{features}')");
            // QEMU answers p/P only to a client that has read its target description.
            if (features.Contains("qXfer:features:read+")) TargetDescription = await ReadFeatureFileAsync("target.xml", ct).ConfigureAwait(false);

            // '?' clears every breakpoint on KGDB and QEMU: only here, where there are none yet.
            string status = await _session.RequestAsync("?", ReplyShape.StopReply, ct).ConfigureAwait(false);
            StopReply.TryParse(status, out StopReply? stop);
            string? thread = stop!.Thread ?? await CurrentThreadAsync(ct).ConfigureAwait(false);
            State = TargetState.Stopped;
            ulong pc = await ReadProgramCounterAsync(ct).ConfigureAwait(false);
            LastStop = new StopEvent(stop.Signal, StopReason.Interrupt, thread, CpuOf(thread), pc, null);
            _session.ClearPendingStop();
            if (!_options.BreakIn)
            {
                // QEMU stops the VM when a debugger connects; without BreakIn the user wants it running.
                await ResumeAsync(ct).ConfigureAwait(false);
            }
        }

        /// <summary>The stub's target.xml, when it offers one (QEMU, gdbserver).</summary>
        public string? TargetDescription { get; private set; }

        private async Task<string> ReadFeatureFileAsync(string name, CancellationToken ct)
        {
            var text = new StringBuilder();
            while (true)
            {
                string command = $"qXfer:features:read:{name}:{Hex.Number((ulong)text.Length)},{Hex.Number(0x7f0)}";
                string reply = await _session.RequestAsync(command, ReplyShape.Custom("qXfer", p => p.Length > 0 && (p[0] == 'm' || p[0] == 'l' || Replies.IsError(p))), ct).ConfigureAwait(false);
                if (Replies.IsError(reply)) throw Error($"reading {name}", command, reply, null);
                text.Append(reply, 1, reply.Length - 1);
                if (reply[0] == 'l' || reply.Length == 1) return text.ToString();
            }
        }

        private async Task<T> WithinAsync<T>(TimeSpan timeout, string what, Func<CancellationToken, Task<T>> action, CancellationToken ct)
        {
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                cts.CancelAfter(timeout);
                try
                {
                    return await action(cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TargetTimeoutException($"{Endpoint} did not answer '{what}' within {timeout.TotalSeconds:0.#} s (is the target listening and reachable?).", what);
                }
                catch (TargetTimeoutException e)
                {
                    throw new TargetTimeoutException($"{Endpoint} did not answer '{what}': {e.Message}", what, e);
                }
            }
        }

        private async Task<string?> CurrentThreadAsync(CancellationToken ct)
        {
            string qc = await _session.RequestAsync("qC", ReplyShape.CurrentThread, ct).ConfigureAwait(false);
            return qc.StartsWith("QC", StringComparison.Ordinal) && qc.Length > 2 ? qc.Substring(2) : null;
        }

        private int? CpuOf(string? thread)
        {
            if (thread == null) return null;
            TargetThread t = _dialect.ParseThread(thread, null);
            return t.Cpu;
        }

        // ---- running and stopping -------------------------------------------------------------

        public async Task<StopEvent> InterruptAsync(CancellationToken ct)
        {
            ThrowIfDetached();
            if (State == TargetState.Stopped && LastStop != null) return LastStop;
            _interruptRequested = true;
            await _session.SendInterruptAsync(ct).ConfigureAwait(false);
            return await WaitForStopAsync(TimeSpan.FromTicks(_options.RequestTimeout.Ticks * _options.MaxAttempts), ct, onQuiet: () => _session.SendInterruptAsync(ct)).ConfigureAwait(false);
        }

        public async Task ResumeAsync(CancellationToken ct)
        {
            EnsureStopped("resume");
            await StepOverBreakpointAtPcAsync(ct, returnStop: false).ConfigureAwait(false);
            _interruptRequested = false;
            _session.InterruptProbeSent = false;
            await _session.ResumeAsync("c", ct).ConfigureAwait(false);
            State = TargetState.Running;
        }

        public async Task<StopEvent> StepAsync(CancellationToken ct)
        {
            EnsureStopped("step");
            StopEvent? stepped = await StepOverBreakpointAtPcAsync(ct, returnStop: true).ConfigureAwait(false);
            if (stepped != null) return stepped;
            return await StepOnceAsync(ct).ConfigureAwait(false);
        }

        /// <summary>
        /// One instruction. readPc false (stepping over our own breakpoint before a resume) skips reading pc:
        /// nobody looks at it, and if the stop we took was a stale copy, the '+' in front of our next packet
        /// acks the real one still waiting in the stub.
        /// </summary>
        private async Task<StopEvent> StepOnceAsync(CancellationToken ct, bool readPc = true, ulong? from = null)
        {
            _stepping = true;
            _stepFrom = from ?? (_rewindPending == null && LastStop != null && LastStop.ProgramCounter != 0 ? LastStop.ProgramCounter : (ulong?)null);
            try
            {
                _session.InterruptProbeSent = false;
                await _session.ResumeAsync("s", ct).ConfigureAwait(false);
                State = TargetState.Running;
                TimeSpan timeout = TimeSpan.FromTicks(_options.RequestTimeout.Ticks * _options.MaxAttempts);
                if (readPc) return await WaitForStopAsync(timeout, ct).ConfigureAwait(false);
                DateTime deadline = DateTime.UtcNow + timeout;
                string? payload = null;
                while (payload == null)
                {
                    TimeSpan left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) throw new TargetTimeoutException($"{Endpoint} did not stop after a single step within {timeout.TotalSeconds:0.###} s.", "s");
                    payload = await WaitForStopReplyOrProbeAsync(left, ct, null).ConfigureAwait(false);
                }
                _probedPc = null;
                State = TargetState.Stopped;
                StopReply.TryParse(payload, out StopReply? reply);
                var stop = new StopEvent(reply?.Signal ?? 5, StopReason.Step, reply?.Thread, CpuOf(reply?.Thread), 0, null);
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
            Breakpoint? bp = _rewindPending;
            if (bp == null && LastStop != null)
            {
                lock (_gate)
                    bp = _breakpoints.FirstOrDefault(b => b.Address == LastStop.ProgramCounter &&
                        (b.Kind == BreakpointKind.Software || (b.Kind == BreakpointKind.Hardware && !_dialect.ResumesOverHardwareBreakpoint)));
            }
            if (bp == null) return null;
            if (_rewindPending != null)
            {
                await WriteRegisterNumberAsync(_dialect.Registers.ProgramCounterNumber, bp.Address, ct).ConfigureAwait(false);
                _rewindPending = null;
            }
            await SendBreakpointPacketAsync('z', bp, ct).ConfigureAwait(false);
            StopEvent stop = await StepOnceAsync(ct, readPc: returnStop, from: bp.Address).ConfigureAwait(false);
            await SendBreakpointPacketAsync('Z', bp, ct).ConfigureAwait(false);
            return stop;
        }

        public async Task<StopEvent> WaitForStopAsync(TimeSpan timeout, CancellationToken ct) =>
            await WaitForStopAsync(timeout, ct, null).ConfigureAwait(false);

        private async Task<StopEvent> WaitForStopAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet)
        {
            ThrowIfDetached();
            if (State == TargetState.Stopped && LastStop != null) return LastStop;
            DateTime deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TargetTimeoutException($"{Endpoint} did not stop within {timeout.TotalSeconds:0.###} s.");
                string? payload = await WaitForStopReplyOrProbeAsync(left, ct, onQuiet).ConfigureAwait(false);
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
                        pc = await ReadProgramCounterAsync(ct).ConfigureAwait(false);
                    }
                    catch (TargetTimeoutException) when (!_session.IsReliable && DateTime.UtcNow < deadline)
                    {
                        // A duplicated old stop reply: the target is in fact running. Keep waiting for the real one.
                        State = TargetState.Running;
                        continue;
                    }
                }
                StopEvent stop = Interpret(reply, pc);
                if (stop.Reason == StopReason.Interrupt && _session.InterruptProbeSent && !_interruptRequested)
                {
                    // Our own 0x03 probe (sent when a resume's ack was lost) stopped it: carry on.
                    _session.InterruptProbeSent = false;
                    await _session.ResumeAsync("c", ct).ConfigureAwait(false);
                    State = TargetState.Running;
                    continue;
                }
                _interruptRequested = false;
                LastStop = stop;
                return stop;
            }
        }

        private ulong? _probedPc;

        /// <summary>Where the thread stood when we sent s (null: unknown); a probe finding pc still there means s was lost.</summary>
        private ulong? _stepFrom;

        /// <summary>
        /// Waits for a stop reply. On a lossy link a stop reply can vanish for good: lost on the wire while a
        /// stale, reordered '+' of ours acks it, so the stub listens for commands again and ignores our '-'
        /// nudges. After some silence a probe "+$p10" is safe in every stub state (listening: answered;
        /// waiting for an ack: the '+' acks, then answered; running: dropped by the I/O driver). An answer
        /// means stopped: pc then tells a lost c/s (resend it) from a stop whose reply we never saw.
        /// </summary>
        private async Task<string?> WaitForStopReplyOrProbeAsync(TimeSpan left, CancellationToken ct, Func<Task>? onQuiet)
        {
            if (_session.IsReliable) return await _session.WaitForStopReplyAsync(left, ct, onQuiet).ConfigureAwait(false);
            TimeSpan slice = TimeSpan.FromTicks(Math.Min(left.Ticks, _options.RequestTimeout.Ticks * 4));
            string? payload = await _session.WaitForStopReplyAsync(slice, ct, onQuiet, nullOnTimeout: true).ConfigureAwait(false);
            if (payload != null) return payload;
            string probe;
            try
            {
                probe = await _session.RequestAsync("p" + Hex.Number((ulong)_dialect.Registers.ProgramCounterNumber), ReplyShape.HexDigits(16), ct, maxAttempts: 2).ConfigureAwait(false);
            }
            catch (TargetTimeoutException)
            {
                return null; // running, as it should be
            }
            if (probe.Length != 16) return null;
            ulong pc = BitConverter.ToUInt64(Hex.Decode(probe), 0);
            bool known;
            lock (_gate)
                known = _breakpoints.Any(b => (b.Kind == BreakpointKind.Software && (_dialect.PcAfterSoftwareBreakpoint ? b.Address + 1 : b.Address) == pc) ||
                                              (b.Kind == BreakpointKind.Hardware && b.Address == pc));
            bool resumeLost = _stepping ? _stepFrom == pc : !known && !_interruptRequested && !_session.InterruptProbeSent;
            _session.Log.Note($"probe: stopped at 0x{pc:x}; " + (resumeLost ? "our resume was lost, send it again" : "its stop reply was lost"));
            if (resumeLost)
            {
                await _session.ResumeAsync(_stepping ? "s" : "c", ct).ConfigureAwait(false);
                return null;
            }
            _session.DiscardPendingStop();
            _probedPc = pc;
            // The lost stop reply named the thread; ask for it.
            string? thread = await CurrentThreadAsync(ct).ConfigureAwait(false);
            return thread == null ? "T05" : "T05thread:" + thread + ";";
        }

        private StopEvent Interpret(StopReply reply, ulong pc)
        {
            Breakpoint? hit = null;
            StopReason reason;
            ulong reportedPc = pc;
            lock (_gate)
            {
                if (reply.WatchAddress is ulong watched)
                    hit = _breakpoints.FirstOrDefault(b => IsWatch(b.Kind) && watched >= b.Address && watched < b.Address + (ulong)b.Length);
                if (hit == null && _dialect.PcAfterSoftwareBreakpoint && reply.Signal == 5)
                {
                    hit = _breakpoints.FirstOrDefault(b => b.Kind == BreakpointKind.Software && b.Address + 1 == pc);
                    if (hit != null) { _rewindPending = hit; reportedPc = hit.Address; }
                }
                if (hit == null)
                    hit = _breakpoints.FirstOrDefault(b => (b.Kind == BreakpointKind.Software || b.Kind == BreakpointKind.Hardware) && b.Address == pc);
                if (hit == null && !_dialect.ReportsWatchAddress && reply.Signal == 5 && !_stepping && !_interruptRequested && !_session.InterruptProbeSent)
                {
                    // KGDB names no watch address: a trap that is no breakpoint of ours is the watchpoint, if there is one.
                    List<Breakpoint> watches = _breakpoints.Where(b => IsWatch(b.Kind)).ToList();
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
            else if (_interruptRequested || _session.InterruptProbeSent || reply.Signal == 2) reason = StopReason.Interrupt;
            else if (reply.Signal == 5) reason = StopReason.Breakpoint;
            else reason = StopReason.Signal;
            string? thread = reply.Thread;
            return new StopEvent(reply.Signal, reason, thread, CpuOf(thread), reportedPc, hit);
        }

        private static bool IsWatch(BreakpointKind kind) =>
            kind == BreakpointKind.WriteWatch || kind == BreakpointKind.ReadWatch || kind == BreakpointKind.AccessWatch;

        public async Task DetachAsync(CancellationToken ct)
        {
            if (State == TargetState.Detached) return;
            if (State == TargetState.Running) await InterruptAsync(ct).ConfigureAwait(false);
            _rewindPending = null;
            lock (_gate) _breakpoints.Clear();
            // KGDB: D removes all breakpoints, answers OK and resumes. QEMU: OK and the VM runs. Never 'k'.
            string reply;
            try
            {
                reply = await _session.RequestAsync("D", ReplyShape.OkOrError, ct).ConfigureAwait(false);
            }
            catch (TargetTimeoutException) when (!_session.IsReliable)
            {
                // D ran but its OK was lost, and the '+' in front of our resend let the stub go: a running
                // target answers nothing any more. (Had D never arrived, some resend would have been answered.)
                reply = "OK";
            }
            if (!_session.IsReliable)
            {
                // The stub waits for our ack before it resumes; nothing follows it, so say it more than once.
                for (int i = 0; i < 3; i++)
                {
                    await Task.Delay(20, ct).ConfigureAwait(false);
                    await _session.SendRawAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
                }
            }
            _session.ClearPendingStop();
            State = TargetState.Detached;
            if (Replies.IsError(reply)) throw Error("detach", "D", reply, null);
        }

        // ---- helpers ----------------------------------------------------------------------------

        private void EnsureStopped(string what)
        {
            ThrowIfDetached();
            if (State != TargetState.Stopped)
                throw new InvalidOperationException($"Cannot {what}: the target {Endpoint} is running. Interrupt it or wait for a stop first.");
        }

        private void ThrowIfDetached()
        {
            if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(KernelDebugClient), $"The client for {Endpoint} is disposed.");
            if (State == TargetState.Detached) throw new InvalidOperationException($"The client is detached from {Endpoint}.");
        }

        private TargetErrorException Error(string what, string command, string reply, ulong? address)
        {
            int code = Replies.ErrorCode(reply);
            return new TargetErrorException($"{Endpoint}: {what} failed: {ErrorText.Describe(code)}.", code, address, command);
        }

        private static string HexAddress(ulong a) => "0x" + a.ToString("x", CultureInfo.InvariantCulture);

        private void DisposeQuietly()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _session.Dispose();
        }

        /// <summary>Leaves a stopped target running (best effort, a few seconds at most), then closes the connection.</summary>
        public void Dispose()
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            if (State == TargetState.Stopped)
            {
                try
                {
                    using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
                        Task.Run(() => DetachAsync(cts.Token)).Wait(TimeSpan.FromSeconds(4));
                }
                catch (AggregateException) { }
            }
            DisposeQuietly();
        }
    }
}
