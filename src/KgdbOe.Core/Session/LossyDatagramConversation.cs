using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;
using KgdbOe.Transport;

namespace KgdbOe.Session
{
    /// <summary>
    /// The conversation over raw UDP (kgdboe loaded without a key), where datagrams are lost, duplicated and
    /// reordered, with the retransmission rules built around the KGDB stub's state machine
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
    /// Read lengths vary (<see cref="NextReadLength"/>) so a late copy of a read gives itself away, long reads
    /// go pipelined, a lost stop reply is found by probing pc, and detach survives a lost OK. A '-' may
    /// reject junk ahead of our packet rather than our packet: it ends a request only as
    /// <see cref="RequestPatience"/> says.
    /// All of it runs inside the one-at-a-time <see cref="RemoteSession.Conversation"/>, which guards the
    /// fields below (the read-length history has a lock of its own: reads are planned outside it).
    /// </summary>
    internal sealed partial class LossyDatagramConversation : RemoteSession
    {
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

        /// <summary>The c or s whose stop we wait for (null once it came).</summary>
        private string? _lastResume;

        /// <summary>Counts memory reads planned, to cycle their lengths (Interlocked).</summary>
        private int _readSequence;

        /// <summary>The lengths of the last 32 reads planned; guarded by locking itself.</summary>
        private readonly Queue<int> _recentReadLengths = new Queue<int>();

        /// <summary>Takes the (connected, lossy) transport and owns it from now on.</summary>
        public LossyDatagramConversation(IPacketTransport transport, SessionOptions options, ClientStatistics stats)
            : base(transport, options, stats)
        {
            _rtt = new RoundTripEstimator(options.RequestTimeout);
        }

        /// <summary>The current wait before a request counts as lost (adapts to the measured round trip).</summary>
        public TimeSpan RetransmitTimeout => _rtt.Timeout;

        /// <summary>A duplicated old stop reply can be taken while the target in fact runs.</summary>
        public override bool StopReplyMayBeStale => true;

        /// <summary>
        /// No ack of its own on a lossy link: the '+' in front of our next packet is the ack, which halves the
        /// datagrams the target's driver must take while stopped.
        /// </summary>
        protected override bool AcksOnArrival => false;

        /// <summary>Sends '+' and the packet in one datagram: the '+' acks whatever reply the stub still holds.</summary>
        protected override Task SendPacketAsync(string payload, CancellationToken ct)
        {
            byte[] packet = PacketEncoder.Encode(payload);
            Stats.AddPacketSent();
            _ackOwedSince = null; // the '+' in front acks it
            var framed = new byte[packet.Length + 1];
            framed[0] = (byte)'+';
            packet.CopyTo(framed, 1);
            return SendRawAsync(framed, ct);
        }

        /// <inheritdoc/>
        protected override async Task<string> RequestLockedAsync(string payload, ReplyShape shape, CancellationToken ct, int maxAttempts)
        {
            Stats.AddRequest();
            if (shape.IsOkType && _lastOkReplyAt != TimeSpan.MinValue && _linkDuplicates)
            {
                TimeSpan wait = _lastOkReplyAt + Options.OkQuarantine - Clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            DrainStrays();
            await FenceIfReplyMayRepeatAsync(ct).ConfigureAwait(false);
            await SendPacketAsync(payload, ct).ConfigureAwait(false);
            TimeSpan sentAt = Clock.Elapsed;
            var patience = new RequestPatience(maxAttempts, sentAt, Options.BusyLimit);
            bool nudged = false;
            TimeSpan timeout = _rtt.Timeout;

            async Task ResendAsync(string why)
            {
                patience.Sent(Clock.Elapsed);
                _replyMayRepeat = true;
                Stats.AddRetransmission();
                Log.Note($"{why}: resend (attempt {patience.Copies})");
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
            }

            while (true)
            {
                if (patience.BusyTooLong(Clock.Elapsed))
                    throw new GdbProtocolException($"No answer to '{Hex.Truncate(payload)}' from {Transport.Description} within {Options.BusyLimit.TotalSeconds:0} s: it rejected {patience.Rejections} packets meanwhile ({patience.Copies} copies of ours sent), busy with other bytes (a flood of junk datagrams?).", payload);
                (bool got, WireEvent e) = await Incoming.TryDequeueAsync(timeout, ct).ConfigureAwait(false);
                if (!got)
                {
                    Stats.AddTimeout();
                    // The stub may still hold our previous reply (we ack it only with the '+' in front of the
                    // next packet), and a '-' would make it send that one again. When that reply cannot be told
                    // from ours ("OK" after "OK", or the same shape twice) skip the nudge and resend at once:
                    // requests are idempotent, and the '+' in front acks whatever the stub held.
                    _replyMayRepeat = true;
                    if (!nudged && !shape.IsOkType && shape.Name != _lastAcceptedShape)
                    {
                        // The reply may be lost while the stub waits for our ack: '-' makes it resend; state A ignores it.
                        Log.Note("timeout: nudge with '-'");
                        await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        nudged = true;
                        timeout = _rtt.TimedOut();
                        continue;
                    }
                    if (patience.SilentTooLong)
                        throw new TargetTimeoutException($"No reply to '{Hex.Truncate(payload)}' from {Transport.Description} after {patience.Copies} attempts (last wait {timeout.TotalMilliseconds:0} ms).", payload);
                    nudged = false;
                    timeout = _rtt.TimedOut();
                    await ResendAsync("timeout").ConfigureAwait(false);
                    continue;
                }
                switch (e.Kind)
                {
                    case WireEventKind.Ack:
                        continue;
                    case WireEventKind.Nak:
                        // The stub read a bad packet: ours, or one of someone's junk ahead of ours (RequestPatience).
                        patience.Rejected();
                        _replyMayRepeat = true;
                        if (patience.AlwaysRejected)
                            throw new GdbProtocolException($"The target rejected '{Hex.Truncate(payload)}' {patience.Rejections} times.", payload);
                        // A '-' within a retransmission timeout of our last copy may be about an earlier
                        // datagram; that copy is resent by the timeout if nothing answers it.
                        if (Clock.Elapsed - patience.LastCopyAt >= timeout) await ResendAsync("rejected").ConfigureAwait(false);
                        continue;
                    case WireEventKind.BadPacket:
                        Log.Note("bad packet: " + e.Detail);
                        _replyMayRepeat = true;
                        if (!shape.IsOkType) await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        continue;
                    case WireEventKind.Packet:
                        string text = e.PayloadText;
                        if (shape.Accepts(text))
                        {
                            // Karn: only an answer to a request sent once tells the round-trip time.
                            if (patience.Copies == 1 && !nudged) _rtt.Sample(Clock.Elapsed - sentAt);
                            // No ack of its own on a lossy link: the '+' in front of our next packet is the ack,
                            // which halves the datagrams the target's driver must take while stopped.
                            _lastAcceptedShape = shape.Name;
                            _ackOwedSince = Clock.Elapsed;
                            if (shape.IsOkType) _lastOkReplyAt = Clock.Elapsed;
                            return text;
                        }
                        if (Replies.IsStop(text) && ExpectingStop && PendingStop == null) { PendingStop = text; continue; }
                        DroppedDuplicate();
                        Log.Note($"dropped '{Hex.Truncate(text, 40)}': not {shape.Name}");
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
            if (AckOverdue) _replyMayRepeat = true;
            if (_replyMayRepeat) await FenceAsync(ct).ConfigureAwait(false);
        }

        private bool AckOverdue => _ackOwedSince is TimeSpan since && Clock.Elapsed - since >= Options.IdleBeforeFence;

        /// <summary>Counts the dropped copy and, when nothing of ours explains it, learns that the link duplicates.</summary>
        protected override void DroppedDuplicate()
        {
            base.DroppedDuplicate();
            if (!_replyMayRepeat && !_fencing && !AckOverdue) _linkDuplicates = true;
        }

        /// <summary>
        /// A reply that came while we waited for a resume's ack or a stop: a copy of an old one, or the answer
        /// to a doubled request (a doubled z0 is answered "E02"). A duplicating link may bring another copy
        /// right after our next request, where it would pass for that request's answer: fence it off.
        /// </summary>
        private void StrayReply()
        {
            DroppedDuplicate();
            _replyMayRepeat = true;
        }

        /// <summary>Drops what came before a request or resume; a stray among it may come again (see StrayReply()).</summary>
        private void DrainStrays()
        {
            // The fence's own qC drops everything before its answer anyway.
            if (DrainStale() > 0 && !_fencing) _replyMayRepeat = true;
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
            Stats.AddFence();
            Log.Note("the last reply may come again: fence with qC");
            _fencing = true;
            try
            {
                await RequestLockedAsync("qC", FenceReply, ct, Options.MaxAttempts).ConfigureAwait(false);
            }
            finally
            {
                _fencing = false;
            }
            // A copy of the fence's own answer only passes for another qC answer, which it equals.
            _replyMayRepeat = false;
        }

        /// <summary>
        /// On a lossy link no read may have the length of any of the last few reads: a late duplicate of an
        /// earlier reply then gives itself away by its length. Long reads step down through the 64 lengths
        /// max ... max-63 (511 ... 448 on KGDB): the cycle of 32 meets its own lengths among the 32 kept, which
        /// pushes a round below the last one; short ones are cut a little shorter when they would repeat a
        /// recent length (the rest follows).
        /// </summary>
        public override int NextReadLength(long remaining, int max)
        {
            int seq = Interlocked.Increment(ref _readSequence);
            int length = (int)Math.Min(max - (seq & 31), remaining);
            lock (_recentReadLengths)
            {
                while (length > 1 && _recentReadLengths.Contains(length)) length--;
                _recentReadLengths.Enqueue(length);
                while (_recentReadLengths.Count > 32) _recentReadLengths.Dequeue();
            }
            return length;
        }

        /// <summary>
        /// A read longer than one request goes pipelined when more than one request may be in flight: each
        /// round trip of a lossy link is long next to the stub's work.
        /// </summary>
        public override bool ShouldPipelineRead(long length, int maxChunk, int window) => window > 1 && length > maxChunk;

        /// <summary>
        /// Sends c or s, which have no reply but the stub's '+' (then, later, a stop reply). On a lossy link the
        /// ack may be lost although the target runs; resending blindly could skip a stop, so silence is probed:
        /// '-' (a stub already stopped again resends its stop reply), then 0x03 (a running target breaks in,
        /// which the caller sees as an interrupt stop), and only then the command is sent again.
        /// </summary>
        public override async Task ResumeAsync(string payload, CancellationToken ct)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                Stats.AddRequest();
                if (AckOverdue)
                {
                    // After a pause, fenced before a stop is expected: a copy of an old stop-shaped reply
                    // must not pass for the next stop. A fence owed for a resend is kept for the request
                    // after the resume: on a reordering link a late copy can still overtake this one.
                    bool owed = _replyMayRepeat;
                    await FenceAsync(ct).ConfigureAwait(false);
                    _replyMayRepeat = owed;
                }
                PendingStop = null;
                ExpectingStop = true;
                _lastResume = payload;
                DrainStrays();
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
                int attempts = 1;
                int probe = 0;
                while (true)
                {
                    (bool got, WireEvent e) = await Incoming.TryDequeueAsync(Options.RequestTimeout, ct).ConfigureAwait(false);
                    if (got)
                    {
                        if (e.Kind == WireEventKind.Ack) return;
                        if (e.Kind == WireEventKind.Packet && Replies.IsStop(e.PayloadText)) { PendingStop = e.PayloadText; return; }
                        if (e.Kind == WireEventKind.BadPacket) { await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                        if (e.Kind == WireEventKind.Packet) StrayReply();
                        continue;
                    }
                    Stats.AddTimeout();
                    probe++;
                    if (probe == 1 || probe == 3) { Log.Note("resume not acked: probe with '-'"); await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                    if (probe == 2) { Log.Note("resume not acked: probe with 0x03"); InterruptProbeSent = true; await SendRawAsync(new byte[] { 3 }, ct).ConfigureAwait(false); continue; }
                    if (attempts >= Options.MaxAttempts)
                        throw new TargetTimeoutException($"The target did not take '{payload}' after {attempts} attempts.", payload);
                    attempts++;
                    probe = 0;
                    Stats.AddRetransmission();
                    Log.Note($"resume: resend (attempt {attempts})");
                    await SendPacketAsync(payload, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <summary>Waits for the next stop reply and acks it. On a lossy link, silence is nudged with '-' now and then.</summary>
        public override async Task<string?> WaitForStopReplyAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet = null, bool nullOnTimeout = false)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                ExpectingStop = true;
                var watch = Stopwatch.StartNew();
                string? lastStray = null;
                int repeated = 0;
                while (true)
                {
                    if (PendingStop != null)
                    {
                        string stop = PendingStop;
                        PendingStop = null;
                        ExpectingStop = false;
                        _lastResume = null;
                        await SendRawAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
                        _lastAcceptedShape = null;
                        return stop;
                    }
                    TimeSpan left = timeout - watch.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        if (nullOnTimeout) return null;
                        throw new TargetTimeoutException($"The target did not stop within {timeout.TotalSeconds:0.###} s.");
                    }
                    TimeSpan slice = Min(left, Options.RequestTimeout);
                    (bool got, WireEvent e) = await Incoming.TryDequeueAsync(slice, ct).ConfigureAwait(false);
                    if (!got)
                    {
                        await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        if (onQuiet != null) await onQuiet().ConfigureAwait(false);
                        continue;
                    }
                    if (e.Kind == WireEventKind.BadPacket) { await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false); continue; }
                    if (e.Kind != WireEventKind.Packet) continue;
                    if (Replies.IsStop(e.PayloadText)) { PendingStop = e.PayloadText; continue; }
                    StrayReply();
                    if (_lastResume != null)
                    {
                        // The same non-stop reply again and again after our nudges: the stub sits in put_packet
                        // with it, so it never ran our c/s (the '+' we took for its ack belonged to another
                        // packet). Only then is sending the resume again safe: the '+' in front acks that reply.
                        repeated = e.PayloadText == lastStray ? repeated + 1 : 1;
                        lastStray = e.PayloadText;
                        if (repeated >= 2)
                        {
                            Log.Note($"stub keeps resending '{Hex.Truncate(lastStray, 20)}': resend '{_lastResume}'");
                            Stats.AddRetransmission();
                            repeated = 0;
                            await SendPacketAsync(_lastResume, ct).ConfigureAwait(false);
                        }
                    }
                }
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <summary>
        /// Waits for a stop reply. On a lossy link a stop reply can vanish for good: lost on the wire while a
        /// stale, reordered '+' of ours acks it, so the stub listens for commands again and ignores our '-'
        /// nudges. After some silence a probe "+$p10" is safe in every stub state (listening: answered;
        /// waiting for an ack: the '+' acks, then answered; running: dropped by the I/O driver). An answer
        /// means stopped: pc then tells a lost c/s (resend it) from a stop whose reply we never saw.
        /// </summary>
        public override async Task<string?> WaitForStopOrProbeAsync(TimeSpan left, CancellationToken ct, Func<Task>? onQuiet, IStopProbeTarget target)
        {
            TimeSpan slice = TimeSpan.FromTicks(Math.Min(left.Ticks, Options.RequestTimeout.Ticks * 4));
            string? payload = await WaitForStopReplyAsync(slice, ct, onQuiet, nullOnTimeout: true).ConfigureAwait(false);
            if (payload != null) return payload;
            string probe;
            try
            {
                probe = await RequestAsync(Requests.ReadRegister(target.ProgramCounterNumber), ReplyShape.HexDigits(16), ct, maxAttempts: 2).ConfigureAwait(false);
            }
            catch (TargetTimeoutException)
            {
                return null; // running, as it should be
            }
            if (probe.Length != 16) return null;
            ulong pc = BitConverter.ToUInt64(Hex.Decode(probe), 0);
            bool resumeLost = target.ResumeWasLost(pc);
            Log.Note($"probe: stopped at 0x{pc:x}; " + (resumeLost ? "our resume was lost, send it again" : "its stop reply was lost"));
            if (resumeLost)
            {
                await ResumeAsync(target.PendingResume, ct).ConfigureAwait(false);
                return null;
            }
            DiscardPendingStop();
            target.StoppedAt(pc);
            // The lost stop reply named the thread; ask for it.
            string qc = await RequestAsync(Requests.CurrentThread, ReplyShape.CurrentThread, ct).ConfigureAwait(false);
            string? thread = qc.StartsWith("QC", StringComparison.Ordinal) && qc.Length > 2 ? qc.Substring(2) : null;
            return thread == null ? "T05" : "T05thread:" + thread + ";";
        }

        /// <inheritdoc/>
        public override void DiscardPendingStop()
        {
            base.DiscardPendingStop();
            _lastResume = null;
        }

        /// <inheritdoc/>
        public override void ClearPendingStop()
        {
            _lastResume = null;
            base.ClearPendingStop();
        }

        /// <summary>
        /// Sends D and lets the stub go. A timeout counts as done: D ran but its OK was lost, and the '+' in
        /// front of our resend let the stub go, so a running target answers nothing any more (had D never
        /// arrived, some resend would have been answered). The stub waits for our ack of the OK before it
        /// resumes and nothing follows it, so the ack is said three times.
        /// </summary>
        public override async Task<string> DetachAsync(CancellationToken ct)
        {
            string reply;
            try
            {
                reply = await RequestAsync(Requests.Detach, ReplyShape.OkOrError, ct).ConfigureAwait(false);
            }
            catch (TargetTimeoutException)
            {
                // D ran but its OK was lost, and the '+' in front of our resend let the stub go: a running
                // target answers nothing any more. (Had D never arrived, some resend would have been answered.)
                reply = "OK";
            }
            // The stub waits for our ack before it resumes; nothing follows it, so say it more than once.
            for (int i = 0; i < 3; i++)
            {
                await Task.Delay(20, ct).ConfigureAwait(false);
                await SendRawAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
            }
            return reply;
        }
    }
}
