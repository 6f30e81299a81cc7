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
    /// The conversation over a link that delivers every byte once and in order: TCP to QEMU's gdbstub or
    /// gdbserver, and kgdboe's keyed v2 wire (<see cref="Wire.WireTransport"/>, whose module side resends
    /// and drops duplicates below the stub). Plain GDB remote protocol: every packet is acked as it
    /// arrives, each request is sent once (again only when the stub answers '-'), a reply of the wrong
    /// shape is a protocol error and silence is a timeout. No fence, nudge, quarantine or probe: nothing
    /// here can arrive twice or go missing.
    /// </summary>
    internal sealed class StreamConversation : RemoteSession
    {
        /// <summary>Takes the (connected, reliable) transport and owns it from now on.</summary>
        public StreamConversation(IPacketTransport transport, SessionOptions options, ClientStatistics stats)
            : base(transport, options, stats)
        {
        }

        /// <summary>A stream never repeats a stop reply: a stop taken is the target's current stop.</summary>
        public override bool StopReplyMayBeStale => false;

        /// <summary>Every packet is acked at once, as the protocol has it.</summary>
        protected override bool AcksOnArrival => true;

        /// <inheritdoc/>
        protected override Task SendPacketAsync(string payload, CancellationToken ct)
        {
            byte[] packet = PacketEncoder.Encode(payload);
            Stats.AddPacketSent();
            return SendRawAsync(packet, ct);
        }

        /// <inheritdoc/>
        protected override async Task<string> RequestLockedAsync(string payload, ReplyShape shape, CancellationToken ct, int maxAttempts)
        {
            Stats.AddRequest();
            DrainStale();
            await SendPacketAsync(payload, ct).ConfigureAwait(false);
            int attempts = 1;
            // Nothing is resent on silence, so the wait is at least 5 s whatever the request timeout (tuned for lossy links) says.
            TimeSpan timeout = Max(Options.RequestTimeout, TimeSpan.FromSeconds(5));
            while (true)
            {
                (bool got, WireEvent e) = await Incoming.TryDequeueAsync(timeout, ct).ConfigureAwait(false);
                if (!got)
                {
                    Stats.AddTimeout();
                    throw new TargetTimeoutException($"No reply to '{Hex.Truncate(payload)}' from {Transport.Description} within {timeout.TotalMilliseconds:0} ms.", payload);
                }
                switch (e.Kind)
                {
                    case WireEventKind.Ack:
                        continue;
                    case WireEventKind.Nak:
                        if (attempts >= Options.MaxAttempts)
                            throw new GdbProtocolException($"The target rejected '{Hex.Truncate(payload)}' {attempts} times.", payload);
                        attempts++;
                        Stats.AddRetransmission();
                        await SendPacketAsync(payload, ct).ConfigureAwait(false);
                        continue;
                    case WireEventKind.BadPacket:
                        Log.Note("bad packet: " + e.Detail);
                        if (!shape.IsOkType) await SendRawAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                        continue;
                    case WireEventKind.Packet:
                        string text = e.PayloadText;
                        if (shape.Accepts(text)) return text;
                        if (Replies.IsStop(text) && ExpectingStop && PendingStop == null) { PendingStop = text; continue; }
                        throw new GdbProtocolException($"Reply '{Hex.Truncate(text)}' to '{Hex.Truncate(payload)}' is not {shape.Name}.", payload);
                }
            }
        }

        /// <summary>Never: one request at a time is as fast as a stream allows here.</summary>
        public override bool ShouldPipelineRead(long length, int maxChunk, int window) => false;

        /// <summary>
        /// The batch one request at a time (a stream never asks for it: <see cref="ShouldPipelineRead"/> is
        /// false; this keeps the contract for a caller that does).
        /// </summary>
        public override async Task<int> RequestPipelinedAsync(IReadOnlyList<PipelinedRequest> requests, int window, Func<int, string, Task> onReply, CancellationToken ct)
        {
            if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "The window must be at least 1.");
            for (int i = 0; i < requests.Count; i++)
            {
                string reply = await RequestAsync(requests[i].Payload, requests[i].Shape, ct).ConfigureAwait(false);
                if (reply.Length == 0 || Replies.IsError(reply)) return i;
                await onReply(i, reply).ConfigureAwait(false);
            }
            return requests.Count;
        }

        /// <summary>As long as the dialect allows: nothing can come twice, so lengths need not vary.</summary>
        public override int NextReadLength(long remaining, int max) => (int)Math.Min(max, remaining);

        /// <summary>Sends c or s once; the stub's '+' and, later, the stop reply follow on the stream.</summary>
        public override async Task ResumeAsync(string payload, CancellationToken ct)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                Stats.AddRequest();
                PendingStop = null;
                ExpectingStop = true;
                DrainStale();
                await SendPacketAsync(payload, ct).ConfigureAwait(false);
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <inheritdoc/>
        public override async Task<string?> WaitForStopReplyAsync(TimeSpan timeout, CancellationToken ct, Func<Task>? onQuiet = null, bool nullOnTimeout = false)
        {
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                ExpectingStop = true;
                var watch = Stopwatch.StartNew();
                while (true)
                {
                    if (PendingStop != null)
                    {
                        // Acked on arrival: nothing more to send.
                        string stop = PendingStop;
                        PendingStop = null;
                        ExpectingStop = false;
                        return stop;
                    }
                    TimeSpan left = timeout - watch.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        if (nullOnTimeout) return null;
                        throw new TargetTimeoutException($"The target did not stop within {timeout.TotalSeconds:0.###} s.");
                    }
                    (bool got, WireEvent e) = await Incoming.TryDequeueAsync(left, ct).ConfigureAwait(false);
                    if (!got)
                    {
                        if (onQuiet != null) await onQuiet().ConfigureAwait(false);
                        continue;
                    }
                    if (e.Kind != WireEventKind.Packet) continue;
                    if (Replies.IsStop(e.PayloadText)) { PendingStop = e.PayloadText; continue; }
                    DroppedDuplicate();
                }
            }
            finally
            {
                Conversation.Release();
            }
        }

        /// <summary>A stop reply cannot be lost on a stream: waiting is all there is to do.</summary>
        public override Task<string?> WaitForStopOrProbeAsync(TimeSpan left, CancellationToken ct, Func<Task>? onQuiet, IStopProbeTarget target) =>
            WaitForStopReplyAsync(left, ct, onQuiet);
    }
}
