using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;

namespace KgdbOe.Session
{
    internal sealed partial class LossyDatagramConversation
    {
        /// <summary>A pipelined request on its way: when it went, how often, and how many later replies overtook it.</summary>
        private sealed class InFlight
        {
            public InFlight(int index, TimeSpan sentAt)
            {
                Index = index;
                SentAt = sentAt;
            }

            public int Index { get; }
            public TimeSpan SentAt { get; set; }
            public int Attempts { get; set; } = 1;
            public int Overtaken { get; set; }
        }

        /// <summary>
        /// Several requests in flight at once on a lossy link. The KGDB stub reads them in order from the I/O
        /// driver's ring, and the '+' in front of each acks the reply before it, so the stub never waits for
        /// us between them. Replies are matched by shape, which must differ between the requests in flight
        /// (reads of distinct lengths): one is never sent while another of its shape is out. A request whose
        /// reply does not come within the timeout, or that two later replies overtook (the stub answers in
        /// order, so it or its reply was lost), is sent again. Replies go to onReply in request order.
        /// An error or empty reply could belong to any request in flight, and a '-' to any datagram: the batch
        /// stops there and returns how many replies were handed over, so the caller asks for the rest one at
        /// a time.
        /// </summary>
        public override async Task<int> RequestPipelinedAsync(IReadOnlyList<PipelinedRequest> requests, int window, Func<int, string, Task> onReply, CancellationToken ct)
        {
            if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "The window must be at least 1.");
            await Conversation.WaitAsync(ct).ConfigureAwait(false);
            var inFlight = new List<InFlight>();
            try
            {
                DrainStale();
                await FenceIfReplyMayRepeatAsync(ct).ConfigureAwait(false);
                var arrived = new Dictionary<int, string>();
                int nextToSend = 0, nextToDeliver = 0;
                TimeSpan timeout = _rtt.Timeout;
                while (nextToDeliver < requests.Count)
                {
                    // Fill the window; replies held for in-order delivery count against it too.
                    while (nextToSend < requests.Count && nextToSend - nextToDeliver < window && !ShapeInFlight(requests, inFlight, requests[nextToSend].Shape))
                    {
                        Stats.AddRequest();
                        inFlight.Add(new InFlight(nextToSend, Clock.Elapsed));
                        await SendPacketAsync(requests[nextToSend].Payload, ct).ConfigureAwait(false);
                        nextToSend++;
                    }
                    while (arrived.TryGetValue(nextToDeliver, out string? reply))
                    {
                        arrived.Remove(nextToDeliver);
                        await onReply(nextToDeliver, reply).ConfigureAwait(false);
                        nextToDeliver++;
                    }
                    if (inFlight.Count == 0) continue;

                    TimeSpan oldest = inFlight[0].SentAt;
                    foreach (InFlight f in inFlight) if (f.SentAt < oldest) oldest = f.SentAt;
                    TimeSpan wait = oldest + timeout - Clock.Elapsed;
                    (bool got, WireEvent e) = await Incoming.TryDequeueAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, ct).ConfigureAwait(false);
                    if (!got)
                    {
                        Stats.AddTimeout();
                        timeout = _rtt.TimedOut();
                        foreach (InFlight f in inFlight)
                            if (Clock.Elapsed - f.SentAt >= TimeSpan.FromTicks(timeout.Ticks / 2)) await ResendAsync(requests, f, "timeout", ct).ConfigureAwait(false);
                        continue;
                    }
                    if (e.Kind == WireEventKind.Nak)
                    {
                        // The stub rejects bytes (ours, or junk ahead of ours): one request at a time knows how to wait for that.
                        Log.Note("'-' in a pipelined batch: finish it one request at a time");
                        break;
                    }
                    if (e.Kind != WireEventKind.Packet) continue; // acks need no answer; a bad packet is recovered like a lost one
                    string text = e.PayloadText;
                    InFlight? match = null;
                    foreach (InFlight f in inFlight)
                        if (requests[f.Index].Shape.Accepts(text) && (match == null || f.Index < match.Index)) match = f;
                    if (match == null)
                    {
                        DroppedDuplicate();
                        Log.Note($"dropped '{Hex.Truncate(text, 40)}': no request in flight has its shape");
                        continue;
                    }
                    if (text.Length == 0 || Replies.IsError(text))
                    {
                        Log.Note($"'{text}' could answer any request in flight: finish the batch one request at a time");
                        break;
                    }
                    if (match.Attempts == 1) _rtt.Sample(Clock.Elapsed - match.SentAt);
                    inFlight.Remove(match);
                    arrived[match.Index] = text;
                    _lastAcceptedShape = requests[match.Index].Shape.Name;
                    _ackOwedSince = Clock.Elapsed;
                    foreach (InFlight f in inFlight)
                    {
                        if (f.Index > match.Index || ++f.Overtaken < 2) continue;
                        f.Overtaken = 0;
                        await ResendAsync(requests, f, "overtaken twice", ct).ConfigureAwait(false);
                    }
                }
                return nextToDeliver;
            }
            finally
            {
                // Replies still on their way must not pass for the next request's answer.
                if (inFlight.Count > 0) _replyMayRepeat = true;
                Conversation.Release();
            }
        }

        private static bool ShapeInFlight(IReadOnlyList<PipelinedRequest> requests, List<InFlight> inFlight, ReplyShape shape)
        {
            foreach (InFlight f in inFlight)
                if (requests[f.Index].Shape.Name == shape.Name) return true;
            return false;
        }

        private async Task ResendAsync(IReadOnlyList<PipelinedRequest> requests, InFlight f, string why, CancellationToken ct)
        {
            if (f.Attempts >= Options.MaxAttempts)
                throw new TargetTimeoutException($"No reply to '{Hex.Truncate(requests[f.Index].Payload)}' from {Transport.Description} after {f.Attempts} attempts.", requests[f.Index].Payload);
            f.Attempts++;
            f.SentAt = Clock.Elapsed;
            _replyMayRepeat = true;
            Stats.AddRetransmission();
            Log.Note($"{why}: resend '{Hex.Truncate(requests[f.Index].Payload, 40)}' (attempt {f.Attempts})");
            await SendPacketAsync(requests[f.Index].Payload, ct).ConfigureAwait(false);
        }
    }
}
