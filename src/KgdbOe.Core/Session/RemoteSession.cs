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
    /// The conversation with one stub: one request at a time, acks, console output ('O' packets) set apart,
    /// statistics and the traffic log. What differs with the link lives in the two kinds, chosen once by
    /// <see cref="Create"/>: <see cref="StreamConversation"/> over a reliable byte stream (TCP, the keyed v2
    /// wire) and <see cref="LossyDatagramConversation"/> over raw UDP, where the retransmission rules built
    /// around the KGDB stub's state machine live. The client calls members whose names say what they do and
    /// never asks which kind it has.
    /// </summary>
    internal abstract class RemoteSession : IDisposable
    {
        /// <summary>Feeds received bytes into packets; guarded by <see cref="_decodeGate"/> (the transport may deliver on any thread).</summary>
        private readonly PacketDecoder _decoder = new PacketDecoder();

        /// <summary>Guards <see cref="_decoder"/>, whose state spans datagrams or stream reads.</summary>
        private readonly object _decodeGate = new object();

        /// <summary>
        /// Guards the transport's send side: one datagram or write at a time, so a '+' sent from the receive
        /// path never interleaves with a packet of the conversation.
        /// </summary>
        private readonly SemaphoreSlim _sendLock = new SemaphoreSlim(1, 1);

        private int _disposed;

        /// <summary>Takes the transport (already connected) and owns it from now on.</summary>
        protected RemoteSession(IPacketTransport transport, SessionOptions options, ClientStatistics stats)
        {
            Transport = transport;
            Options = options;
            Stats = stats;
            Log = new TrafficLog(options.TrafficLog);
        }

        /// <summary>
        /// The conversation for this transport, chosen here once: a plain stream conversation when the
        /// transport delivers every byte in order (TCP, the keyed v2 wire), the lossy-link rules otherwise (raw UDP).
        /// </summary>
        public static RemoteSession Create(IPacketTransport transport, SessionOptions options, ClientStatistics stats)
        {
            if (transport == null) throw new ArgumentNullException(nameof(transport));
            return transport.IsReliable
                ? new StreamConversation(transport, options, stats)
                : (RemoteSession)new LossyDatagramConversation(transport, options, stats);
        }

        /// <summary>The link to the stub.</summary>
        protected IPacketTransport Transport { get; }

        /// <summary>Timeouts and attempts, copied from the connect options.</summary>
        protected SessionOptions Options { get; }

        /// <summary>The client's counters (packets, requests, timeouts, retransmissions, ...).</summary>
        protected ClientStatistics Stats { get; }

        /// <summary>Received packets and events not yet taken by a request or a wait (console packets never go here).</summary>
        protected AsyncQueue<WireEvent> Incoming { get; } = new AsyncQueue<WireEvent>();

        /// <summary>
        /// The one-at-a-time conversation: held for the whole of a request, a pipelined batch, a resume or a
        /// wait for a stop, so two callers' packets and replies never mix. Not held by the receive path.
        /// </summary>
        protected SemaphoreSlim Conversation { get; } = new SemaphoreSlim(1, 1);

        /// <summary>Time since the session began, for the round-trip clock and the pauses the lossy rules measure.</summary>
        protected Stopwatch Clock { get; } = Stopwatch.StartNew();

        /// <summary>A stop reply that arrived while something else was awaited; the next wait for a stop takes it.</summary>
        protected string? PendingStop { get; set; }

        /// <summary>A c, s or 0x03 went out and its stop has not been taken yet: a stop reply seen meanwhile is kept.</summary>
        protected bool ExpectingStop
        {
            get => Volatile.Read(ref _expectingStop);
            set => Volatile.Write(ref _expectingStop, value);
        }

        private bool _expectingStop;

        /// <summary>Text of the target's console packets ('O'), as it arrives.</summary>
        public event Action<string>? ConsoleText;

        /// <summary>The traffic log (a no-op unless the connect options name a writer).</summary>
        public TrafficLog Log { get; }

        /// <summary>True when a resume probe sent 0x03: an interrupt stop that follows was caused by us (never set on a stream).</summary>
        public bool InterruptProbeSent { get; set; }

        /// <summary>
        /// True when a stop reply taken may be an old copy of an earlier one while the target in fact runs (a
        /// read of pc after it then times out): the caller keeps waiting for the real stop instead of failing.
        /// </summary>
        public abstract bool StopReplyMayBeStale { get; }

        /// <summary>True when the conversation acks every packet as it arrives (false: the next packet sent acks it).</summary>
        protected abstract bool AcksOnArrival { get; }

        /// <summary>Starts receiving; a broken transport completes the queue with a TargetConnectionException.</summary>
        public void Start() => Transport.Start(OnReceived, reason =>
            Incoming.Complete(reason == null ? null : new TargetConnectionException($"The connection to {Transport.Description} broke: {reason.Message}", null, reason)));

        private void OnReceived(ArraySegment<byte> data)
        {
            Log.Received(data);
            var events = new List<WireEvent>();
            lock (_decodeGate) _decoder.Feed(data, events);
            foreach (WireEvent e in events)
            {
                if (e.Kind == WireEventKind.Packet)
                {
                    Stats.AddPacketReceived();
                    string text = e.PayloadText;
                    if (Replies.IsConsole(text))
                    {
                        // The stub waits for an ack after console output too.
                        _ = SendQuietlyAsync(new[] { (byte)'+' });
                        byte[] bytes = Hex.Decode(text.Substring(1));
                        ConsoleText?.Invoke(Encoding.UTF8.GetString(bytes));
                        continue;
                    }
                    if (AcksOnArrival) _ = SendQuietlyAsync(new[] { (byte)'+' });
                }
                else if (e.Kind == WireEventKind.Junk)
                {
                    continue;
                }
                Incoming.Enqueue(e);
            }
        }

        private async Task SendQuietlyAsync(byte[] data)
        {
            try { await SendRawAsync(data, CancellationToken.None).ConfigureAwait(false); }
            catch (GdbRemoteException) { }
            catch (ObjectDisposedException) { }
        }

        /// <summary>Sends bytes as they are (an ack, a nudge, 0x03, a framed packet), one send at a time.</summary>
        protected async Task SendRawAsync(byte[] data, CancellationToken ct)
        {
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                Log.Sent(data);
                await Transport.SendAsync(data, ct).ConfigureAwait(false);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>Sends one packet with the payload, framed as this link needs, and counts it.</summary>
        protected abstract Task SendPacketAsync(string payload, CancellationToken ct);

        /// <summary>Everything already received cannot answer a request not yet sent: drop it (keeping a stop for later). Returns how many packets it dropped.</summary>
        protected int DrainStale()
        {
            int dropped = 0;
            while (Incoming.TryDequeue(out WireEvent e))
            {
                if (e.Kind != WireEventKind.Packet) continue;
                if (Replies.IsStop(e.PayloadText) && PendingStop == null && ExpectingStop) { PendingStop = e.PayloadText; continue; }
                DroppedDuplicate();
                dropped++;
            }
            return dropped;
        }

        /// <summary>A packet that answers nothing awaited was dropped: counts it (the lossy kind also learns from it).</summary>
        protected virtual void DroppedDuplicate() => Stats.AddDuplicateDropped();

        /// <summary>
        /// Sends a request and returns the first reply of the expected shape. Errors: TargetTimeoutException
        /// when no reply comes (after <paramref name="maxAttempts"/> sends where the link loses packets),
        /// GdbProtocolException when the stub keeps rejecting it or (on a stream) answers with another shape.
        /// </summary>
        public async Task<string> RequestAsync(string payload, ReplyShape shape, CancellationToken ct, int? maxAttempts = null)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await RequestLockedAsync(payload, shape, ct, maxAttempts ?? Options.MaxAttempts).ConfigureAwait(false);
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <summary>RequestAsync's work, with <see cref="Conversation"/> already held.</summary>
        protected abstract Task<string> RequestLockedAsync(string payload, ReplyShape shape, CancellationToken ct, int maxAttempts);

        /// <summary>
        /// True when a read of <paramref name="length"/> bytes should go as a pipelined batch
        /// (<see cref="RequestPipelinedAsync"/>) with <paramref name="window"/> requests in flight rather than
        /// one request at a time; <paramref name="maxChunk"/> is the largest read one request may ask for.
        /// </summary>
        public abstract bool ShouldPipelineRead(long length, int maxChunk, int window);

        /// <summary>
        /// Sends the requests with up to <paramref name="window"/> in flight and hands the replies to
        /// <paramref name="onReply"/> (index, reply) in request order. An error or empty reply ends the batch
        /// before it is handed over; returns how many replies were handed over, so the caller asks for the
        /// rest one at a time.
        /// </summary>
        public abstract Task<int> RequestPipelinedAsync(IReadOnlyList<PipelinedRequest> requests, int window, Func<int, string, Task> onReply, CancellationToken ct);

        /// <summary>
        /// The length of the next memory read, at most <paramref name="max"/> (the dialect's limit) and at most
        /// <paramref name="remaining"/>. Where a late reply can come again, lengths vary so it gives itself away.
        /// </summary>
        public abstract int NextReadLength(long remaining, int max);

        /// <summary>
        /// Sends c or s, which have no reply but the stub's '+' (then, later, a stop reply); returns once it
        /// went out (and, on a lossy link, once the stub took it). TargetTimeoutException when it never did.
        /// </summary>
        public abstract Task ResumeAsync(string payload, CancellationToken ct);

        /// <summary>Sends 0x03 to stop a running target (not a packet; the stub or I/O driver reacts to the byte).</summary>
        public Task SendInterruptAsync(CancellationToken ct)
        {
            ExpectingStop = true;
            return SendRawAsync(new byte[] { 3 }, ct);
        }

        /// <summary>
        /// Waits for the next stop reply and acks it. <paramref name="onQuiet"/> runs when nothing came for a
        /// while (the caller sends 0x03 again). After <paramref name="timeout"/>: null when
        /// <paramref name="nullOnTimeout"/>, else TargetTimeoutException.
        /// </summary>
        public abstract Task<string?> WaitForStopReplyAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet = null, bool nullOnTimeout = false);

        /// <summary>
        /// Waits for a stop reply for at most <paramref name="left"/>; where a stop reply can vanish for good,
        /// asks the stopped-or-running target itself (see the lossy kind), with <paramref name="target"/>
        /// telling what a stop at a given pc means. Returns the stop reply, or null when none came yet (the
        /// caller waits on while its time lasts).
        /// </summary>
        public abstract Task<string?> WaitForStopOrProbeAsync(TimeSpan left, CancellationToken ct, Func<Task>? onQuiet, IStopProbeTarget target);

        /// <summary>A probe found the target stopped: any stop reply still queued belongs to this very stop.</summary>
        public virtual void DiscardPendingStop()
        {
            PendingStop = null;
        }

        /// <summary>Forget a stop we were told about (after detaching).</summary>
        public virtual void ClearPendingStop()
        {
            PendingStop = null;
            ExpectingStop = false;
        }

        /// <summary>
        /// Sends D (KGDB: removes all breakpoints, answers OK and resumes; QEMU: OK and the VM runs) and returns
        /// its reply ("OK" or an error). The target is left running when this returns without an exception.
        /// </summary>
        public virtual Task<string> DetachAsync(CancellationToken ct) =>
            RequestAsync(Requests.Detach, ReplyShape.OkOrError, ct);

        /// <summary>Sends a packet whose reply, if any, nobody waits for (D on a stub that resumes, k).</summary>
        public async Task SendWithoutReplyAsync(string payload, CancellationToken ct)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                Stats.AddRequest();
                DrainStale();
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <summary>The larger of two spans.</summary>
        protected static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        /// <summary>The smaller of two spans.</summary>
        protected static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        /// <summary>Closes the transport; whoever waits on the queue gets ObjectDisposedException.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Transport.Dispose();
            Incoming.Complete(new ObjectDisposedException(nameof(KernelDebugClient), "The client is disposed."));
        }
    }
}
