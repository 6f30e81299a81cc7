using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;
using KgdbOe.Session;

namespace KgdbOe.Bridge
{
    /// <summary>
    /// Serves one GDB remote protocol connection (stock gdb, drgn, any RSP client, over a reliable
    /// stream such as TCP) on top of a connected <see cref="KernelDebugClient"/>: the client does the
    /// talking to the kernel, with its resends, fences and reply-shape checks, so the stream's peer
    /// gets a reliable target even over a lossy network.
    /// <para>
    /// What is answered here: qSupported (PacketSize, QStartNoAckMode+), QStartNoAckMode, ack mode
    /// ('+'/'-', resend on '-'), '?' (the client's last stop: forwarding it would clear every
    /// breakpoint on KGDB), qOffsets (Text=/Data=/Bss= the KASLR slide, as the gdb manual's "General
    /// Query Packets" describes, so gdb relocates vmlinux's symbols), qAttached (1: detach leaves the
    /// kernel running), m (through the client's pipelined reader, any length), the thread list and
    /// thread names (cached per stop: the KGDB stub pages qsThreadInfo with state, so a resent
    /// request would skip a page), X (empty: gdb falls back to M). Run control: c, s, vCont;c/s
    /// (one thread: KGDB runs only the CPU that stopped), C/S as c/s, 0x03 while running
    /// (interrupt), D and k (the kernel is resumed and the connection ends; KgdbOe's own session
    /// stays attached, with its breakpoints, and can stop the kernel again). Everything else is
    /// forwarded with <see cref="KernelDebugClient.ForwardRequestAsync"/>.
    /// </para>
    /// </summary>
    public sealed class GdbBridgeConnection
    {
        /// <summary>The largest packet we accept and advertise (bytes of payload).</summary>
        public const int PacketSize = 0x4000;

        private readonly KernelDebugClient _client;
        private readonly Stream _stream;
        private readonly long _slide;
        private readonly AsyncQueue<Input> _input = new AsyncQueue<Input>();
        private readonly Dictionary<string, string> _cache = new Dictionary<string, string>(StringComparer.Ordinal);
        private List<string>? _threads;
        private int _threadPage;
        private bool _noAck;
        private byte[]? _lastReply;

        /// <summary>A bridge over <paramref name="client"/> for the peer at the other end of <paramref name="stream"/>.</summary>
        /// <param name="client">A connected client; the kernel may be running or stopped.</param>
        /// <param name="stream">The RSP client's connection (a TCP stream); closed by the caller.</param>
        /// <param name="kaslrSlide">How far the kernel image moved from its link address (bytes; 0 without KASLR).</param>
        public GdbBridgeConnection(KernelDebugClient client, Stream stream, long kaslrSlide)
        {
            _client = client ?? throw new ArgumentNullException(nameof(client));
            _stream = stream ?? throw new ArgumentNullException(nameof(stream));
            _slide = kaslrSlide;
        }

        /// <summary>Packets answered (requests from the RSP client).</summary>
        public long Requests { get; private set; }

        /// <summary>Why the connection ended: "detached", "killed", "closed by the client", "stopped".</summary>
        public string? EndReason { get; private set; }

        /// <summary>
        /// Serves until the RSP client detaches (D or k), closes the connection, or
        /// <paramref name="ct"/> is cancelled (Ctrl-C). In every case the kernel is left running.
        /// Returns <see cref="EndReason"/>.
        /// </summary>
        public async Task<string> RunAsync(CancellationToken ct)
        {
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                Task reader = Task.Run(() => ReadLoopAsync(cts.Token));
                try
                {
                    while (EndReason == null)
                    {
                        (bool got, Input input) = await _input.TryDequeueAsync(TimeSpan.FromSeconds(1), cts.Token).ConfigureAwait(false);
                        if (!got) continue;
                        await HandleAsync(input, cts.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    EndReason = "stopped";
                }
                catch (EndOfStreamException)
                {
                    EndReason = "closed by the client";
                }
                finally
                {
                    cts.Cancel();
                    try { await reader.ConfigureAwait(false); } catch { /* the stream closes under it */ }
                }
                await LeaveRunningAsync().ConfigureAwait(false);
                return EndReason!;
            }
        }

        /// <summary>The bridge never leaves the kernel stopped: a stopped kernel is resumed.</summary>
        private async Task LeaveRunningAsync()
        {
            if (_client.State != TargetState.Stopped) return;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                try { await DetachAsync(cts.Token).ConfigureAwait(false); } catch (GdbRemoteException) { /* the session's state says so */ }
            }
        }

        // ---- input ------------------------------------------------------------------------------

        private enum InputKind { Packet, Ack, Nak, Interrupt, BadPacket, Closed }

        private readonly struct Input
        {
            public Input(InputKind kind, string? payload = null) { Kind = kind; Payload = payload; }
            public InputKind Kind { get; }
            public string? Payload { get; }
        }

        private async Task ReadLoopAsync(CancellationToken ct)
        {
            var buffer = new byte[8192];
            var body = new StringBuilder();
            int state = 0; // 0 outside, 1 body, 2 checksum hi, 3 checksum lo
            int sum = 0, sumIn = 0;
            bool escape = false;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    int n = await _stream.ReadAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false);
                    if (n == 0) break;
                    for (int i = 0; i < n; i++)
                    {
                        byte b = buffer[i];
                        switch (state)
                        {
                            case 0:
                                if (b == (byte)'$') { state = 1; sum = 0; body.Clear(); escape = false; }
                                else if (b == (byte)'+') _input.Enqueue(new Input(InputKind.Ack));
                                else if (b == (byte)'-') _input.Enqueue(new Input(InputKind.Nak));
                                else if (b == 0x03) _input.Enqueue(new Input(InputKind.Interrupt));
                                break;
                            case 1:
                                if (b == (byte)'#' && !escape) { state = 2; break; }
                                sum = (sum + b) & 0xff;
                                if (body.Length > PacketSize) { state = 0; _input.Enqueue(new Input(InputKind.BadPacket)); break; }
                                if (escape) { body.Append((char)(b ^ 0x20)); escape = false; }
                                else if (b == (byte)'}') escape = true;
                                else body.Append((char)b);
                                break;
                            case 2:
                                sumIn = Hex.Value((char)b) << 4;
                                state = 3;
                                break;
                            default:
                                sumIn |= Hex.Value((char)b);
                                state = 0;
                                _input.Enqueue(sumIn == sum ? new Input(InputKind.Packet, body.ToString()) : new Input(InputKind.BadPacket));
                                break;
                        }
                    }
                }
            }
            catch (Exception) when (ct.IsCancellationRequested) { return; }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
            _input.Enqueue(new Input(InputKind.Closed));
        }

        private async Task HandleAsync(Input input, CancellationToken ct)
        {
            switch (input.Kind)
            {
                case InputKind.Closed:
                    throw new EndOfStreamException();
                case InputKind.Nak:
                    if (_lastReply != null && !_noAck) await WriteAsync(_lastReply, ct).ConfigureAwait(false);
                    return;
                case InputKind.BadPacket:
                    if (!_noAck) await WriteAsync(new[] { (byte)'-' }, ct).ConfigureAwait(false);
                    return;
                case InputKind.Interrupt:
                    // While stopped there is nothing to interrupt; gdb sends 0x03 only while it waits for a stop.
                    return;
                case InputKind.Ack:
                    return;
            }
            if (!_noAck) await WriteAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
            Requests++;
            string? reply;
            using (var answered = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                Task keepAlive = KeepAliveAsync(answered.Token);
                try
                {
                    reply = await AnswerAsync(input.Payload!, ct).ConfigureAwait(false);
                }
                finally
                {
                    answered.Cancel();
                    await keepAlive.ConfigureAwait(false);
                }
            }
            if (reply != null) await ReplyAsync(reply, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// gdb gives up on a reply after its remotetimeout (2 s) without a byte, three times over,
        /// and then takes the late reply for the answer to its next request ("Ignoring packet error",
        /// then "Malformed response to offset query"): one behind for good. Over a lossy link one
        /// request can take longer (resends, a thread list read twice). While gdb waits for the
        /// start of a packet it skips every byte that is not '$' and waits again (remote.c,
        /// getpkt), so a '+' every half second keeps it waiting without meaning anything.
        /// </summary>
        private async Task KeepAliveAsync(CancellationToken ct)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(KeepAliveInterval, ct).ConfigureAwait(false);
                    await WriteAsync(new[] { (byte)'+' }, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        }

        private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromMilliseconds(500);
        private readonly SemaphoreSlim _writing = new SemaphoreSlim(1, 1);

        private async Task ReplyAsync(string payload, CancellationToken ct)
        {
            byte[] framed = PacketEncoder.Encode(Encoding.GetEncoding(28591).GetBytes(payload));
            _lastReply = framed;
            await WriteAsync(framed, ct).ConfigureAwait(false);
        }

        /// <summary>One write at a time: a keep-alive byte never lands inside a reply. _writing guards the stream's output.</summary>
        private async Task WriteAsync(byte[] data, CancellationToken ct)
        {
            await _writing.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(data, 0, data.Length, ct).ConfigureAwait(false);
                await _stream.FlushAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                _writing.Release();
            }
        }

        // ---- requests ---------------------------------------------------------------------------

        /// <summary>The reply to one request; null when the reply was already sent or none is due.</summary>
        private async Task<string?> AnswerAsync(string p, CancellationToken ct)
        {
            if (p.StartsWith("qSupported", StringComparison.Ordinal))
                return $"PacketSize={PacketSize:x};QStartNoAckMode+;swbreak-;hwbreak-;vContSupported+";
            if (p == "QStartNoAckMode") { await ReplyAsync("OK", ct).ConfigureAwait(false); _noAck = true; return null; }
            if (p == "qOffsets")
            {
                string s = unchecked((ulong)_slide).ToString("x", CultureInfo.InvariantCulture);
                return $"Text={s};Data={s};Bss={s}";
            }
            if (p == "qAttached") return "1";
            if (p == "vMustReplyEmpty" || p.StartsWith("qXfer", StringComparison.Ordinal) || p.StartsWith("X", StringComparison.Ordinal) ||
                p == "qTStatus" || p.StartsWith("qTfV", StringComparison.Ordinal) || p.StartsWith("qTfP", StringComparison.Ordinal) ||
                p == "qSymbol::" || p.StartsWith("vFile", StringComparison.Ordinal) || p.StartsWith("qL", StringComparison.Ordinal))
                return "";
            if (p == "vCont?") return "vCont;c;C;s;S";
            if (p == "?") return await StopReplyAsync(ct).ConfigureAwait(false);
            if (p == "D" || p.StartsWith("D;", StringComparison.Ordinal))
            {
                await DetachAsync(ct).ConfigureAwait(false);
                await ReplyAsync("OK", ct).ConfigureAwait(false);
                EndReason = "detached";
                return null;
            }
            if (p == "k" || p.StartsWith("vKill", StringComparison.Ordinal))
            {
                // KGDB's k only detaches; so does the bridge: the kernel runs on.
                await DetachAsync(ct).ConfigureAwait(false);
                if (p[0] == 'v') await ReplyAsync("OK", ct).ConfigureAwait(false);
                EndReason = "killed";
                return null;
            }
            if (p == "c" || p.StartsWith("C", StringComparison.Ordinal) || p.StartsWith("vCont;c", StringComparison.Ordinal) || p.StartsWith("vCont;C", StringComparison.Ordinal))
                return await ContinueAsync(ct).ConfigureAwait(false);
            if (p == "s" || p.StartsWith("S", StringComparison.Ordinal) || p.StartsWith("vCont;s", StringComparison.Ordinal) || p.StartsWith("vCont;S", StringComparison.Ordinal))
                return await StepAsync(ct).ConfigureAwait(false);
            if (p.StartsWith("c", StringComparison.Ordinal) || p.StartsWith("s", StringComparison.Ordinal) || p.StartsWith("vCont", StringComparison.Ordinal) ||
                p.StartsWith("R", StringComparison.Ordinal) || p == "3" || p.StartsWith("v", StringComparison.Ordinal))
                return ""; // resume at an address, reboot, kdb, other v packets: not offered
            if (p.StartsWith("m", StringComparison.Ordinal)) return await ReadMemoryAsync(p, ct).ConfigureAwait(false);
            if (p == "qfThreadInfo") { _threadPage = 0; return await ThreadPageAsync(ct).ConfigureAwait(false); }
            if (p == "qsThreadInfo") return await ThreadPageAsync(ct).ConfigureAwait(false);
            return await ForwardAsync(p, ct).ConfigureAwait(false);
        }

        private async Task<string> ForwardAsync(string p, CancellationToken ct)
        {
            bool perThread = p == "g" || p[0] == 'p';
            bool cacheable = perThread || p.StartsWith("qThreadExtraInfo", StringComparison.Ordinal) || p == "qC";
            if (p.StartsWith("Hg", StringComparison.Ordinal))
            {
                // Selected lazily: gdb's "info threads" selects every thread in turn, and most of
                // their registers are already cached. The stub hears Hg before the next g, p, G or P.
                _selected = p.Substring(2);
                return "OK";
            }
            if (cacheable && _cache.TryGetValue(CacheKey(p), out string? hit)) return hit;
            // Anything but reading registers may change memory (a write, a monitor command): read it again.
            if (!perThread && p != "qC" && !p.StartsWith("qThreadExtraInfo", StringComparison.Ordinal)) _readAhead.Clear();
            string reply;
            try
            {
                if ((perThread || p[0] == 'G' || p[0] == 'P') && _selected != _stubSelected)
                {
                    string selected = await _client.ForwardRequestAsync("Hg" + _selected, ct).ConfigureAwait(false);
                    if (selected != "OK") return selected;
                    _stubSelected = _selected;
                }
                reply = await _client.ForwardRequestAsync(p, ct).ConfigureAwait(false);
            }
            catch (TargetTimeoutException)
            {
                return "E05"; // EIO: gdb shows an error for this request and the session goes on
            }
            if (cacheable && !Replies.IsError(reply)) _cache[CacheKey(p)] = reply;
            if (p[0] == 'G' || p[0] == 'P' || p[0] == 'M') _cache.Clear(); // registers or memory changed
            if (reply == "OK" && p[0] == 'Z') _inserted.Add(p.Substring(1));
            if (reply == "OK" && p[0] == 'z') _inserted.Remove(p.Substring(1));
            return reply;
        }

        /// <summary>Breakpoints the RSP client inserted ("type,addr,kind"), removed if it leaves without.</summary>
        private readonly HashSet<string> _inserted = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>The thread the RSP client's Hg selected ("" for the one that stopped): g and p answers depend on it.</summary>
        private string _selected = "";

        /// <summary>The thread the stub has selected for g and p (what the bridge last sent it).</summary>
        private string _stubSelected = "";

        private string CacheKey(string p) =>
            p == "g" || p[0] == 'p' ? ThreadNumber(_selected) + "|" + p :
            p.StartsWith("qThreadExtraInfo,", StringComparison.Ordinal) ? ThreadInfoKey(p.Substring(17)) : p;

        private static string ThreadInfoKey(string id) => "qThreadExtraInfo," + ThreadNumber(id);

        /// <summary>
        /// One spelling per thread: the stub lists CPU 0 as "fffffffe" and tasks as "01", gdb asks
        /// for "-2" and "1" (32-bit thread ids, kernel/debug/gdbstub.c).
        /// </summary>
        private static string ThreadNumber(string id)
        {
            bool negative = id.StartsWith("-", StringComparison.Ordinal);
            if (!Hex.TryParseNumber(negative ? id.Substring(1) : id, out ulong value)) return id;
            long n = negative ? -(long)value : value > 0x7fffffff && value <= 0xffffffff ? (long)(int)(uint)value : (long)value;
            return n.ToString(CultureInfo.InvariantCulture);
        }

        private readonly ReadAhead _readAhead = new ReadAhead();

        /// <summary>
        /// Reads ahead when this read follows the last one (see <see cref="ReadAhead"/>); null when it does
        /// not, or when the read-ahead could not read the request's own bytes (the plain read then answers,
        /// with the stub's error where there is one).
        /// </summary>
        private async Task<byte[]?> ReadAheadAsync(ulong address, int length, CancellationToken ct)
        {
            int want = _readAhead.LengthToRead(address, length);
            if (want <= length || address + (ulong)want < address) return null;
            var data = new byte[want];
            int got = 0;
            try
            {
                await _client.ReadMemoryAsync(address, want, (at, bytes) =>
                {
                    Buffer.BlockCopy(bytes, 0, data, (int)(at - address), bytes.Length);
                    got = (int)(at - address) + bytes.Length;
                    return Task.CompletedTask;
                }, null, ct).ConfigureAwait(false);
            }
            catch (TargetErrorException)
            {
                // An unreadable page ahead: keep what came before it.
            }
            catch (TargetTimeoutException)
            {
                return null;
            }
            if (got < length) return null;
            if (got < want) Array.Resize(ref data, got);
            _readAhead.Store(address, data, length);
            var answer = new byte[length];
            Buffer.BlockCopy(data, 0, answer, 0, length);
            return answer;
        }

        private async Task<string> ReadMemoryAsync(string p, CancellationToken ct)
        {
            int comma = p.IndexOf(',');
            if (comma < 2 || !Hex.TryParseNumber(p.Substring(1, comma - 1), out ulong address) ||
                !Hex.TryParseNumber(p.Substring(comma + 1), out ulong length) || length > PacketSize / 2)
                return "E22";
            if (length == 0) return "";
            // gdb tries to read at pc 0 for every blocked task in "info threads" (their saved rip
            // is 0): an address the stub refused stays refused while nothing runs, so the refusal
            // is kept until the next resume. Readable memory is always read again.
            if (_cache.TryGetValue(p, out string? refused)) return refused;
            if (_client.UseFastMemoryPath)
            {
                byte[]? ahead = _readAhead.TryGet(address, (int)length) ?? await ReadAheadAsync(address, (int)length, ct).ConfigureAwait(false);
                if (ahead != null) return Hex.Encode(ahead);
            }
            // An error reply cannot be told from a late copy of an earlier one (a lossy link
            // duplicates): a refusal counts only when a second read is refused too.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    byte[] bytes = await _client.ReadMemoryAsync(address, (int)length, null, ct).ConfigureAwait(false);
                    _readAhead.Store(address, bytes, (int)length);
                    return Hex.Encode(bytes);
                }
                catch (TargetErrorException e) when (attempt >= 2)
                {
                    return _cache[p] = "E" + (e.ErrorCode & 0xff).ToString("x2", CultureInfo.InvariantCulture);
                }
                catch (TargetErrorException)
                {
                }
                catch (TargetTimeoutException)
                {
                    return "E05";
                }
            }
        }

        private async Task<string> ThreadPageAsync(CancellationToken ct)
        {
            if (_threads == null)
            {
                // The KGDB stub pages qsThreadInfo with state, so a request resent on a lossy link
                // skips a page without a trace. Nothing runs while stopped, so the list cannot
                // change: read it until a read adds nothing new (at most 4 times), keep the union,
                // and make sure the thread that stopped is in it (gdb asserts otherwise).
                var threads = new List<string>();
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                for (int read = 0; read < 4; read++)
                {
                    int added = 0;
                    foreach (TargetThread t in await _client.GetThreadsAsync(ct).ConfigureAwait(false))
                    {
                        if (!seen.Add(t.Id)) continue;
                        threads.Add(t.Id);
                        added++;
                        if (t.Name != null) _cache[ThreadInfoKey(t.Id)] = Hex.Encode(t.Name);
                    }
                    if (read > 0 && added == 0) break;
                }
                string? stopped = _client.LastStop?.ThreadId;
                if (stopped != null && seen.Add(stopped)) threads.Add(stopped);
                _threads = threads;
            }
            const int perPage = 64;
            if (_threadPage * perPage >= _threads.Count) return "l";
            int from = _threadPage++ * perPage;
            return "m" + string.Join(",", _threads.GetRange(from, Math.Min(perPage, _threads.Count - from)));
        }

        private async Task<string> StopReplyAsync(CancellationToken ct)
        {
            StopEvent stop = _client.State == TargetState.Stopped && _client.LastStop != null
                ? _client.LastStop
                : await _client.InterruptAsync(ct).ConfigureAwait(false);
            return Format(stop);
        }

        private static string Format(StopEvent stop)
        {
            string reply = "T" + (stop.Signal & 0xff).ToString("x2", CultureInfo.InvariantCulture);
            if (stop.ThreadId != null) reply += "thread:" + stop.ThreadId + ";";
            return reply;
        }

        /// <summary>A resume: every cached answer is stale, and the stub selects the stopping thread again.</summary>
        private void Forget()
        {
            _cache.Clear();
            _readAhead.Clear();
            _threads = null;
            _selected = "";
            _stubSelected = "";
        }

        /// <summary>gdb leaves: its breakpoints are gone (gdb removes them before D), the kernel runs.</summary>
        private async Task DetachAsync(CancellationToken ct)
        {
            Forget();
            if (_client.State != TargetState.Stopped) return;
            foreach (string bp in new List<string>(_inserted))
                await ForwardAsync("z" + bp, ct).ConfigureAwait(false);
            await _client.ResumeAsync(ct).ConfigureAwait(false);
            await LeaveRunningAsync(ct).ConfigureAwait(false);
        }

        /// <summary>How long the bridge waits, as it leaves, for a stop its resume's own probe may have made.</summary>
        private static readonly TimeSpan ProbeSettle = TimeSpan.FromSeconds(3);

        /// <summary>
        /// On a lossy raw link a resume whose ack was lost is probed with 0x03 (LossyDatagramConversation.
        /// ResumeAsync), which stops a kernel that did take the c; run control resumes such a stop only while
        /// somebody waits for the next one. The bridge is leaving and nobody will wait, so it waits a moment
        /// itself: a stop of the probe is resumed inside the wait, any other stop is resumed here, and a wait
        /// that ends in silence means the kernel runs.
        /// </summary>
        private async Task LeaveRunningAsync(CancellationToken ct)
        {
            if (!_client.Session.InterruptProbeSent) return;
            try
            {
                await _client.WaitForStopAsync(ProbeSettle, ct).ConfigureAwait(false);
                if (_client.State == TargetState.Stopped) await _client.ResumeAsync(ct).ConfigureAwait(false);
            }
            catch (TargetTimeoutException)
            {
                // Silence: no stop came, the kernel runs.
            }
        }

        private async Task<string?> StepAsync(CancellationToken ct)
        {
            Forget();
            StopEvent stop = await _client.StepAsync(ct).ConfigureAwait(false);
            return Format(stop);
        }

        /// <summary>Resumes, then waits for the stop (or for gdb's 0x03, which interrupts).</summary>
        private async Task<string?> ContinueAsync(CancellationToken ct)
        {
            Forget();
            await _client.ResumeAsync(ct).ConfigureAwait(false);
            while (true)
            {
                try
                {
                    StopEvent stop = await _client.WaitForStopAsync(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                    return Format(stop);
                }
                catch (TargetTimeoutException) { }
                while (_input.TryDequeue(out Input input))
                {
                    if (input.Kind == InputKind.Closed) throw new EndOfStreamException();
                    if (input.Kind == InputKind.Interrupt)
                        return Format(await _client.InterruptAsync(ct).ConfigureAwait(false));
                    // Nothing else is valid while the target runs (all-stop mode): dropped.
                }
            }
        }
    }
}
