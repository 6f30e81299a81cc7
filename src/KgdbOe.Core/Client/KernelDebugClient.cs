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
        private readonly RunControl _run;
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
            _run = new RunControl(this);
            _session.ConsoleText += text => ConsoleOutput?.Invoke(this, text);
        }

        public TargetEndpoint Endpoint { get; }
        public TargetKind Kind => _dialect.Kind;
        public TargetState State { get => _run.State; private set => _run.State = value; }
        public StopEvent? LastStop { get => _run.LastStop; private set => _run.LastStop = value; }
        public ClientStatistics Statistics { get; }

        /// <summary>Text of the target's console packets ('O'), as it arrives.</summary>
        public event EventHandler<string>? ConsoleOutput;

        /// <summary>The user's breakpoints, planted and pending (the client's own module-load hook is not listed).</summary>
        public IReadOnlyList<Breakpoint> Breakpoints { get { lock (_gate) return _breakpoints.Where(b => !b.IsInternal).ToArray(); } }

        // What RunControl needs of the client (it lives beside it; see RunControl).
        internal RemoteSession Session => _session;
        internal ITargetDialect Dialect => _dialect;
        internal ConnectOptions Options => _options;
        /// <summary>Guards BreakpointList.</summary>
        internal object Gate => _gate;
        internal List<Breakpoint> BreakpointList => _breakpoints;

        /// <summary>Stops a running target (0x03) and returns the stop.</summary>
        public Task<StopEvent> InterruptAsync(CancellationToken ct) => _run.InterruptAsync(ct);

        /// <summary>Continues the stopped target (stepping over our breakpoint at pc first).</summary>
        public Task ResumeAsync(CancellationToken ct) => _run.ResumeAsync(ct);

        /// <summary>Executes one instruction of the stopped CPU.</summary>
        public Task<StopEvent> StepAsync(CancellationToken ct) => _run.StepAsync(ct);

        /// <summary>
        /// Runs the stopped target until <paramref name="address"/> (run to; finish with the return address and the frame's
        /// sp; step over a call with the next instruction and the current sp): see RunControl.RunToAsync.
        /// </summary>
        public Task<StopEvent> RunToAsync(ulong address, string? threadId, ulong? spAbove, TimeSpan timeout, CancellationToken ct) =>
            _run.RunToAsync(address, threadId, spAbove, timeout, ct);

        /// <summary>Waits for the next stop of a running target (TargetTimeoutException after <paramref name="timeout"/>).</summary>
        public Task<StopEvent> WaitForStopAsync(TimeSpan timeout, CancellationToken ct) => _run.WaitForStopAsync(timeout, ct);

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
                // The conversation's kind (stream or lossy datagrams) is chosen here, once, from the transport.
                session = RemoteSession.Create(transport, new SessionOptions
                {
                    RequestTimeout = opts.RequestTimeout,
                    MaxAttempts = opts.MaxAttempts,
                    BusyLimit = opts.BusyLimit,
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
                _session.RequestAsync(Requests.Supported, ReplyShape.Any, c), ct).ConfigureAwait(false);
            _dialect = _options.Kind != null ? DialectDetector.ForKind(_options.Kind.Value) : DialectDetector.FromQSupported(features);
            _session.Log.Note($"target is {_dialect.Kind} (qSupported: '{features}')");
            // QEMU answers p/P only to a client that has read its target description.
            if (features.Contains("qXfer:features:read+")) TargetDescription = await ReadFeatureFileAsync("target.xml", ct).ConfigureAwait(false);

            // '?' clears every breakpoint on KGDB and QEMU: only here, where there are none yet.
            string status = await _session.RequestAsync(Requests.StopStatus, ReplyShape.StopReply, ct).ConfigureAwait(false);
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
                string command = Requests.ReadFeatures(name, text.Length, 0x7f0);
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

        internal async Task<string?> CurrentThreadAsync(CancellationToken ct)
        {
            string qc = await _session.RequestAsync(Requests.CurrentThread, ReplyShape.CurrentThread, ct).ConfigureAwait(false);
            return qc.StartsWith("QC", StringComparison.Ordinal) && qc.Length > 2 ? qc.Substring(2) : null;
        }

        internal int? CpuOf(string? thread)
        {
            if (thread == null) return null;
            TargetThread t = _dialect.ParseThread(thread, null);
            return t.Cpu;
        }


        public async Task DetachAsync(CancellationToken ct)
        {
            if (State == TargetState.Detached) return;
            if (State == TargetState.Running) await InterruptAsync(ct).ConfigureAwait(false);
            _run.RewindPending = null;
            lock (_gate) _breakpoints.Clear();
            // KGDB: D removes all breakpoints, answers OK and resumes. QEMU: OK and the VM runs. Never 'k'.
            // On a lossy link the session also survives a lost OK and acks it more than once (see DetachAsync there).
            string reply = await _session.DetachAsync(ct).ConfigureAwait(false);
            _session.ClearPendingStop();
            State = TargetState.Detached;
            if (Replies.IsError(reply)) throw Error("detach", "D", reply, null);
        }

        // ---- helpers ----------------------------------------------------------------------------

        internal void EnsureStopped(string what)
        {
            ThrowIfDetached();
            if (State != TargetState.Stopped)
                throw new InvalidOperationException($"Cannot {what}: the target {Endpoint} is running. Interrupt it or wait for a stop first.");
        }

        internal void ThrowIfDetached()
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
