using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;
using KgdbOe.Transport;

namespace KgdbOe.Session
{
    /// <summary>
    /// The conversation with one stub: one request at a time, acks both ways, console output set apart,
    /// and on a lossy transport the retransmission rules built around the KGDB stub's state machine
    /// (kernel/debug/gdbstub.c):
    ///   A  get_packet: skips everything up to '$', acks a good packet with '+', a bad one with '-'.
    ///   B  put_packet: after a reply, reads one byte: '+' ends it, 0x03 is skipped, '$' makes it send '-'
    ///      and drop both its reply and our packet, anything else makes it send the reply again.
    /// Hence: every packet we send is preceded by '+' in the same datagram (in B it acks a reply whose ack
    /// was lost, in A it is skipped), so our '$' never meets state B; a silent request is first nudged
    /// with '-' (B resends, A ignores) and only then sent again; a reply counts only if it has the shape
    /// the request expects, and nothing received before a request was sent can answer it. A request that
    /// was nudged or resent may be answered twice, the copy still on its way when the next request goes
    /// out; the shape cannot tell it from the next answer when both have one (two 1-byte reads), so the
    /// next request is preceded by a fence: qC, whose answer, coming after the copy, clears the line.
    /// </summary>
    internal sealed partial class RemoteSession : IDisposable
    {
        private readonly IPacketTransport _transport;
        private readonly SessionOptions _options;
        private readonly ClientStatistics _stats;
        private readonly TrafficLog _log;
        private readonly PacketDecoder _decoder = new PacketDecoder();
        private readonly AsyncQueue<WireEvent> _incoming = new AsyncQueue<WireEvent>();
        private readonly SemaphoreSlim _conversation = new SemaphoreSlim(1, 1);
        private readonly SemaphoreSlim _sendLock = new SemaphoreSlim(1, 1);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly object _decodeGate = new object();
        private string? _pendingStop;
        private readonly RoundTripEstimator _rtt;
        private string? _lastAcceptedShape;
        private TimeSpan _lastOkReplyAt = TimeSpan.MinValue;
        private bool _replyMayRepeat;

        /// <summary>When we took the last reply that only the '+' in front of our next packet will ack (null: none owed).</summary>
        private TimeSpan? _ackOwedSince;

        /// <summary>The link itself has duplicated a datagram (a copy that no resend, nudge or pause of ours explains).</summary>
        private bool _linkDuplicates;

        /// <summary>A fence is out: what it drops is the copy it was sent for.</summary>
        private bool _fencing;
        private int _disposed;

        public RemoteSession(IPacketTransport transport, SessionOptions options, ClientStatistics stats)
        {
            _transport = transport;
            _options = options;
            _stats = stats;
            _log = new TrafficLog(options.TrafficLog);
            _rtt = new RoundTripEstimator(options.RequestTimeout);
        }

        /// <summary>The current wait before a request counts as lost (adapts to the measured round trip).</summary>
        public TimeSpan RetransmitTimeout => _rtt.Timeout;

        public event Action<string>? ConsoleText;

        public bool IsReliable => _transport.IsReliable;

        public TrafficLog Log => _log;

        public void Start() => _transport.Start(OnReceived, reason =>
            _incoming.Complete(reason == null ? null : new TargetConnectionException($"The connection to {_transport.Description} broke: {reason.Message}", null, reason)));

        private void OnReceived(ArraySegment<byte> data)
        {
            _log.Received(data);
            var events = new List<WireEvent>();
            lock (_decodeGate) _decoder.Feed(data, events);
            foreach (WireEvent e in events)
            {
                if (e.Kind == WireEventKind.Packet)
                {
                    _stats.AddPacketReceived();
                    string text = e.PayloadText;
                    if (Replies.IsConsole(text))
                    {
                        // The stub waits for an ack after console output too.
                        _ = SendQuietlyAsync(new[] { (byte)'+' });
                        byte[] bytes = Hex.Decode(text.Substring(1));
                        ConsoleText?.Invoke(Encoding.UTF8.GetString(bytes));
                        continue;
                    }
                    if (_transport.IsReliable) _ = SendQuietlyAsync(new[] { (byte)'+' });
                }
                else if (e.Kind == WireEventKind.Junk)
                {
                    continue;
                }
                _incoming.Enqueue(e);
            }
        }

        private async Task SendQuietlyAsync(byte[] data)
        {
            try { await SendRawAsync(data, CancellationToken.None).ConfigureAwait(false); }
            catch (GdbRemoteException) { }
            catch (ObjectDisposedException) { }
        }

        public async Task SendRawAsync(byte[] data, CancellationToken ct)
        {
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                _log.Sent(data);
                await _transport.SendAsync(data, ct).ConfigureAwait(false);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        private Task SendPacketAsync(string payload, CancellationToken ct)
        {
            byte[] packet = PacketEncoder.Encode(payload);
            _stats.AddPacketSent();
            if (_transport.IsReliable) return SendRawAsync(packet, ct);
            _ackOwedSince = null; // the '+' in front acks it
            var framed = new byte[packet.Length + 1];
            framed[0] = (byte)'+';
            packet.CopyTo(framed, 1);
            return SendRawAsync(framed, ct);
        }

        /// <summary>Everything already received cannot answer a request not yet sent: drop it (keeping a stop for later).</summary>
        private void DrainStale()
        {
            while (_incoming.TryDequeue(out WireEvent e))
            {
                if (e.Kind != WireEventKind.Packet) continue;
                if (Replies.IsStop(e.PayloadText) && _pendingStop == null && _expectingStop) { _pendingStop = e.PayloadText; continue; }
                DroppedDuplicate();
            }
        }

        private volatile bool _expectingStop;

        /// <summary>The c or s whose stop we wait for (null once it came).</summary>
        private string? _lastResume;

        /// <summary>Sends a request and returns the first reply of the expected shape.</summary>
        public async Task<string> RequestAsync(string payload, ReplyShape shape, CancellationToken ct, int? maxAttempts = null)
        {
            await _conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await RequestLockedAsync(payload, shape, ct, maxAttempts ?? _options.MaxAttempts).ConfigureAwait(false);
            }
            finally
            {
                _conversation.Release();
            }
        }

        private async Task<string> RequestLockedAsync(string payload, ReplyShape shape, CancellationToken ct, int maxAttempts)
        {
            _stats.AddRequest();
            if (!_transport.IsReliable && shape.IsOkType && _lastOkReplyAt != TimeSpan.MinValue && _linkDuplicates)
            {
                TimeSpan wait = _lastOkReplyAt + _options.OkQuarantine - _clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            DrainStale();
            await FenceIfReplyMayRepeatAsync(ct).ConfigureAwait(false);
            await SendPacketAsync(payload, ct).ConfigureAwait(false);
            TimeSpan sentAt = _clock.Elapsed;
            int attempts = 1;
            bool nudged = false;
            TimeSpan timeout = _transport.IsReliable ? Max(_options.RequestTimeout, TimeSpan.FromSeconds(5)) : _rtt.Timeout;
            while (true)
            {
                (bool got, WireEvent e) = await _incoming.TryDequeueAsync(timeout, ct).ConfigureAwait(false);
                if (!got)
                {
                    _stats.AddTimeout();
                    if (_transport.IsReliable)
                        throw new TargetTimeoutException($"No reply to '{Hex.Truncate(payload)}' from {_transport.Description} within {timeout.TotalMilliseconds:0} ms.", payload);
                    // The stub may still hold our previous reply (we ack it only with the '+' in front of the
                    // next packet), and a '-' would make it send that one again. When that reply cannot be told
                    // from ours ("OK" after "OK", or the same shape twice) skip the nudge and resend at once:
                    // requests are idempotent, and the '+' in front acks whatever the stub held.
                    _replyMayRepeat = true;
                    if (!nudged && !shape.IsOkType && shape.Name != _lastAcceptedShape)
                    {
                        // The reply may be lost while the stub waits for our ack: '-' makes it resend; state A ignores it.
                        _log.Note("timeout: nudge with '-'");
                        await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        nudged = true;
                        timeout = _rtt.TimedOut();
                        continue;
                    }
                    if (attempts >= maxAttempts)
                        throw new TargetTimeoutException($"No reply to '{Hex.Truncate(payload)}' from {_transport.Description} after {attempts} attempts (last wait {timeout.TotalMilliseconds:0} ms).", payload);
                    attempts++;
                    nudged = false;
                    timeout = _rtt.TimedOut();
                    _stats.AddRetransmission();
                    _log.Note($"timeout: resend (attempt {attempts})");
                    await SendPacketAsync(payload, ct).ConfigureAwait(false);
                    continue;
                }
                switch (e.Kind)
                {
                    case WireEventKind.Ack:
                        continue;
                    case WireEventKind.Nak:
                        if (attempts >= _options.MaxAttempts)
                            throw new GdbProtocolException($"The target rejected '{Hex.Truncate(payload)}' {attempts} times.", payload);
                        attempts++;
                        _replyMayRepeat = true;
                        _stats.AddRetransmission();
                        await SendPacketAsync(payload, ct).ConfigureAwait(false);
                        continue;
                    case WireEventKind.BadPacket:
                        _log.Note("bad packet: " + e.Detail);
                        _replyMayRepeat = true;
                        if (!shape.IsOkType) await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        continue;
                    case WireEventKind.Packet:
                        string text = e.PayloadText;
                        if (shape.Accepts(text))
                        {
                            // Karn: only an answer to a request sent once tells the round-trip time.
                            if (attempts == 1 && !nudged) _rtt.Sample(_clock.Elapsed - sentAt);
                            // No ack of its own on a lossy link: the '+' in front of our next packet is the ack,
                            // which halves the datagrams the target's driver must take while stopped.
                            _lastAcceptedShape = shape.Name;
                            _ackOwedSince = _clock.Elapsed;
                            if (shape.IsOkType) _lastOkReplyAt = _clock.Elapsed;
                            return text;
                        }
                        if (Replies.IsStop(text) && _expectingStop && _pendingStop == null) { _pendingStop = text; continue; }
                        if (_transport.IsReliable)
                            throw new GdbProtocolException($"Reply '{Hex.Truncate(text)}' to '{Hex.Truncate(payload)}' is not {shape.Name}.", payload);
                        DroppedDuplicate();
                        _log.Note($"dropped '{Hex.Truncate(text, 40)}': not {shape.Name}");
                        continue;
                }
            }
        }

        /// <summary>
        /// Before a request on a lossy link, fences off a reply that may come again: after a resend, nudge or
        /// bad packet, and after a pause. Our only ack of a reply is the '+' in front of the next request, and
        /// a stub left waiting for it may send the reply again (kgdboe has it do so after 1.5 s of silence).
        /// </summary>
        private async Task FenceIfReplyMayRepeatAsync(CancellationToken ct)
        {
            if (_transport.IsReliable) return;
            if (AckOverdue) _replyMayRepeat = true;
            if (_replyMayRepeat) await FenceAsync(ct).ConfigureAwait(false);
        }

        private bool AckOverdue => _ackOwedSince is TimeSpan since && _clock.Elapsed - since >= _options.IdleBeforeFence;

        private void DroppedDuplicate()
        {
            _stats.AddDuplicateDropped();
            if (!_replyMayRepeat && !_fencing && !AckOverdue) _linkDuplicates = true;
        }

        /// <summary>Only a real QC answer ends a fence: an error or empty reply may be a late one to anything.</summary>
        private static readonly ReplyShape FenceReply = ReplyShape.Custom("QC", p => p.StartsWith("QC", StringComparison.Ordinal));

        /// <summary>
        /// Asks for the current thread and waits for that answer: everything the stub sent before it, a
        /// late copy of the previous reply included, is dropped on the way. The stub answers in order, so
        /// the copy cannot come after the fence's answer (a reordering proxy aside: read lengths vary too).
        /// </summary>
        private async Task FenceAsync(CancellationToken ct)
        {
            _replyMayRepeat = false;
            _ackOwedSince = null;
            _stats.AddFence();
            _log.Note("the last reply may come again: fence with qC");
            _fencing = true;
            try
            {
                await RequestLockedAsync("qC", FenceReply, ct, _options.MaxAttempts).ConfigureAwait(false);
            }
            finally
            {
                _fencing = false;
            }
            // A copy of the fence's own answer only passes for another qC answer, which it equals.
            _replyMayRepeat = false;
        }

        /// <summary>
        /// Sends c or s, which have no reply but the stub's '+' (then, later, a stop reply). On a lossy link the
        /// ack may be lost although the target runs; resending blindly could skip a stop, so silence is probed:
        /// '-' (a stub already stopped again resends its stop reply), then 0x03 (a running target breaks in,
        /// which the caller sees as an interrupt stop), and only then the command is sent again.
        /// </summary>
        public async Task ResumeAsync(string payload, CancellationToken ct)
        {
            await _conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                _stats.AddRequest();
                if (!_transport.IsReliable && AckOverdue)
                {
                    // After a pause, fenced before a stop is expected: a copy of an old stop-shaped reply
                    // must not pass for the next stop. A fence owed for a resend is kept for the request
                    // after the resume: on a reordering link a late copy can still overtake this one.
                    bool owed = _replyMayRepeat;
                    await FenceAsync(ct).ConfigureAwait(false);
                    _replyMayRepeat = owed;
                }
                _pendingStop = null;
                _expectingStop = true;
                _lastResume = payload;
                DrainStale();
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
                if (_transport.IsReliable) return;
                int attempts = 1;
                int probe = 0;
                while (true)
                {
                    (bool got, WireEvent e) = await _incoming.TryDequeueAsync(_options.RequestTimeout, ct).ConfigureAwait(false);
                    if (got)
                    {
                        if (e.Kind == WireEventKind.Ack) return;
                        if (e.Kind == WireEventKind.Packet && Replies.IsStop(e.PayloadText)) { _pendingStop = e.PayloadText; return; }
                        if (e.Kind == WireEventKind.BadPacket) { await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                        if (e.Kind == WireEventKind.Packet) DroppedDuplicate();
                        continue;
                    }
                    _stats.AddTimeout();
                    probe++;
                    if (probe == 1 || probe == 3) { _log.Note("resume not acked: probe with '-'"); await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                    if (probe == 2) { _log.Note("resume not acked: probe with 0x03"); InterruptProbeSent = true; await SendRawAsync(new byte[] { 3 }, ct).ConfigureAwait(false); continue; }
                    if (attempts >= _options.MaxAttempts)
                        throw new TargetTimeoutException($"The target did not take '{payload}' after {attempts} attempts.", payload);
                    attempts++;
                    probe = 0;
                    _stats.AddRetransmission();
                    _log.Note($"resume: resend (attempt {attempts})");
                    await SendPacketAsync(payload, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                _conversation.Release();
            }
        }

        /// <summary>True when a resume probe sent 0x03: an interrupt stop that follows was caused by us.</summary>
        public bool InterruptProbeSent { get; set; }

        /// <summary>Sends 0x03 to stop a running target (not a packet; the stub or I/O driver reacts to the byte).</summary>
        public Task SendInterruptAsync(CancellationToken ct)
        {
            _expectingStop = true;
            return SendRawAsync(new byte[] { 3 }, ct);
        }

        /// <summary>Waits for the next stop reply and acks it. On a lossy link, silence is nudged with '-' now and then.</summary>
        public async Task<string?> WaitForStopReplyAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet = null, bool nullOnTimeout = false)
        {
            await _conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                _expectingStop = true;
                var watch = Stopwatch.StartNew();
                string? lastStray = null;
                int repeated = 0;
                while (true)
                {
                    if (_pendingStop != null)
                    {
                        string stop = _pendingStop;
                        _pendingStop = null;
                        _expectingStop = false;
                        _lastResume = null;
                        if (!_transport.IsReliable) await SendRawAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
                        _lastAcceptedShape = null;
                        return stop;
                    }
                    TimeSpan left = timeout - watch.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        if (nullOnTimeout) return null;
                        throw new TargetTimeoutException($"The target did not stop within {timeout.TotalSeconds:0.###} s.");
                    }
                    TimeSpan slice = _transport.IsReliable ? left : Min(left, _options.RequestTimeout);
                    (bool got, WireEvent e) = await _incoming.TryDequeueAsync(slice, ct).ConfigureAwait(false);
                    if (!got)
                    {
                        if (!_transport.IsReliable) await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        if (onQuiet != null) await onQuiet().ConfigureAwait(false);
                        continue;
                    }
                    if (e.Kind == WireEventKind.BadPacket) { if (!_transport.IsReliable) await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                    if (e.Kind != WireEventKind.Packet) continue;
                    if (Replies.IsStop(e.PayloadText)) { _pendingStop = e.PayloadText; continue; }
                    DroppedDuplicate();
                    if (!_transport.IsReliable && _lastResume != null)
                    {
                        // The same non-stop reply again and again after our nudges: the stub sits in put_packet
                        // with it, so it never ran our c/s (the '+' we took for its ack belonged to another
                        // packet). Only then is sending the resume again safe: the '+' in front acks that reply.
                        repeated = e.PayloadText == lastStray ? repeated + 1 : 1;
                        lastStray = e.PayloadText;
                        if (repeated >= 2)
                        {
                            _log.Note($"stub keeps resending '{Hex.Truncate(lastStray, 20)}': resend '{_lastResume}'");
                            _stats.AddRetransmission();
                            repeated = 0;
                            await SendPacketAsync(_lastResume, ct).ConfigureAwait(false);
                        }
                    }
                }
            }
            finally
            {
                _conversation.Release();
            }
        }

        /// <summary>A probe found the target stopped: any stop reply still queued belongs to this very stop.</summary>
        public void DiscardPendingStop()
        {
            _pendingStop = null;
            _lastResume = null;
        }

        /// <summary>Forget a stop we were told about (after detaching).</summary>
        public void ClearPendingStop()
        {
            _lastResume = null;
            _pendingStop = null;
            _expectingStop = false;
        }

        /// <summary>Sends a packet whose reply, if any, nobody waits for (D on a stub that resumes, k).</summary>
        public async Task SendWithoutReplyAsync(string payload, CancellationToken ct)
        {
            await _conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                _stats.AddRequest();
                DrainStale();
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
            }
            finally
            {
                _conversation.Release();
            }
        }

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _transport.Dispose();
            _incoming.Complete(new ObjectDisposedException(nameof(KernelDebugClient), "The client is disposed."));
        }
    }
}
