using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Session;
using KgdbOe.Transport;

namespace KgdbOe.Wire
{
    /// <summary>
    /// The keyed v2 wire to a kgdboe module loaded with a key (docs/wire-v2.md): the attach
    /// handshake, then a reliable ordered byte stream both ways (go-back-N over authenticated,
    /// encrypted datagrams), so above it the GDB conversation is the one of a TCP stream; and the
    /// fast memory read channel (issue 15), which the module serves itself while the kernel is stopped.
    /// </summary>
    internal sealed class WireTransport : IPacketTransport
    {
        /// <summary>Largest UDP payload we send or expect (a 1500-byte MTU).</summary>
        public const int MaxDatagram = 1472;
        public const int MaxSegment = MaxDatagram - WireHeader.Overhead;
        private const int Window = 32;
        private const int NonceSize = 16;
        /// <summary>The stream's resend timeout until a round trip is measured (then RFC 6298's, 40 ms at least).</summary>
        private static readonly TimeSpan RtoInitial = TimeSpan.FromMilliseconds(250);
        private static readonly TimeSpan RtoMax = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan HandshakeStep = TimeSpan.FromMilliseconds(250);
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(5);

        private readonly string _host;
        private readonly int _port;
        private readonly int _localPort;
        private readonly byte[] _psk;
        private readonly ClientStatistics _stats;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly SemaphoreSlim _windowSlots = new SemaphoreSlim(Window, Window);
        private UdpClient? _udp;
        private int _disposed;

        // _gate guards every field below it.
        private readonly object _gate = new object();
        private byte[]? _nc;
        private byte[]? _key;
        private uint _sid;
        private bool _accepted;
        private bool _closed;
        private uint _txPn;
        private uint _rxPnMax;
        private ulong _rxPnSeen;
        private uint _rxNext;
        private uint _txUna;
        private uint _txNext;
        private readonly Dictionary<uint, byte[]> _unacked = new Dictionary<uint, byte[]>();
        private DateTime _txSentAt;
        private TimeSpan _rto = RtoInitial;
        private readonly RoundTripEstimator _streamRtt = new RoundTripEstimator(RtoInitial);

        /// <summary>The stream segment whose ack is being timed, and when it went out (null: none; Karn).</summary>
        private uint _timedSeq;
        private DateTime? _timedAt;
        private Action<ArraySegment<byte>>? _onReceived;
        private Action<Exception?>? _onClosed;
        private readonly List<byte[]> _early = new List<byte[]>();
        private readonly Dictionary<uint, ReadTag> _readTags = new Dictionary<uint, ReadTag>();
        private RoundTripEstimator _readRtt = new RoundTripEstimator(TimeSpan.FromMilliseconds(300));
        private readonly List<FastRead> _reads = new List<FastRead>();
        private uint _nextTag = 1;
        private bool _ackHeld;
        private DateTime _ackHeldAt;
        private static readonly TimeSpan HoldAck = TimeSpan.FromMilliseconds(5);

        public WireTransport(string host, int port, int localPort, byte[] key, ClientStatistics? stats = null)
        {
            if (key == null) throw new ArgumentNullException(nameof(key));
            if (key.Length != WireCrypto.KeySize) throw new ArgumentException($"A v2 key is {WireCrypto.KeySize} bytes (256 bits).", nameof(key));
            _host = host;
            _port = port;
            _localPort = localPort;
            _psk = (byte[])key.Clone();
            _stats = stats ?? new ClientStatistics();
        }

        public bool IsReliable => true;

        public string Description => $"udp:{_host}:{_port} (keyed v2)";

        /// <summary>The session id the module gave (0 before the handshake).</summary>
        public uint SessionId { get { lock (_gate) return _sid; } }

        /// <summary>
        /// The longest a fast read waits without progress before its missing parts are asked for again, and
        /// the wait before any round trip was measured. Once answers come, the wait follows the measured
        /// round trip (RFC 6298, as <see cref="RoundTripEstimator"/>), 40 ms at least.
        /// </summary>
        public TimeSpan ReadRetry
        {
            get { lock (_gate) return _readRetry; }
            set { lock (_gate) { _readRetry = value; _readRtt = new RoundTripEstimator(value); } }
        }

        private TimeSpan _readRetry = TimeSpan.FromMilliseconds(300);

        /// <summary>
        /// Pieces that must arrive after a hole before the hole counts as lost and is asked for again at once
        /// (TCP's duplicate-ack threshold). The module answers requests in the order they came and each one's
        /// pieces in address order, so only a lost datagram or a reordered one leaves a hole behind later
        /// pieces; a reordered piece is late by a few milliseconds, a lost one never comes.
        /// </summary>
        private const int HoleEvidence = 3;

        /// <summary>The shortest silence after which open reads are asked for again (see RetryReadsLocked).</summary>
        private static readonly TimeSpan SilenceFloor = TimeSpan.FromMilliseconds(20);

        /// <summary>When the last piece came, or the first read opened (_gate).</summary>
        private DateTime _readHeardAt;

        /// <summary>Silent rounds in a row (_gate).</summary>
        private int _silentRounds;

        /// <summary>Bytes asked for by one fast read request (the module caps it at 65536).</summary>
        public int ReadRequestSize { get; set; } = 16384;

        /// <summary>Fast read requests in flight at once.</summary>
        public int ReadWindow { get; set; } = 16;

        /// <summary>Attempts per missing part of a fast read before the target counts as not answering.</summary>
        public int ReadAttempts { get; set; } = 20;

        public async Task ConnectAsync(TimeSpan timeout, CancellationToken ct)
        {
            IPAddress address = await TcpTransport.ResolveAsync(_host, ct).ConfigureAwait(false);
            var udp = new UdpClient(new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, _localPort));
            try
            {
                udp.Connect(address, _port);
            }
            catch (SocketException e)
            {
                udp.Dispose();
                throw new TargetConnectionException($"Cannot reach udp:{_host}:{_port}: {e.Message}", null, e);
            }
            _udp = udp;
            _ = Task.Run(ReceiveLoopAsync);
            await HandshakeAsync(timeout, ct).ConfigureAwait(false);
            _ = Task.Run(TimerLoopAsync);
        }

        // ---- handshake -------------------------------------------------------------------------

        private byte[] BuildHello(out byte[] nc)
        {
            byte[] helloKey = WireCrypto.Kdf(_psk, WireCrypto.HelloLabel);
            using (var rng = RandomNumberGenerator.Create())
            {
                while (true)
                {
                    nc = new byte[NonceSize];
                    var n = new byte[8];
                    rng.GetBytes(nc);
                    rng.GetBytes(n);
                    ulong nonce = BinaryPrimitives.ReadUInt64LittleEndian(n);
                    var header = new WireHeader(WireChannel.Control, WireType.Hello, NonceSize, 0, 0, (uint)nonce, (uint)(nonce >> 32));
                    byte[] datagram = Seal(header, helloKey, nonce, nc);
                    // A raw (keyless) module must never take a HELLO for a GDB packet: no '$' anywhere.
                    if (Array.IndexOf(datagram, (byte)'$') < 0) return datagram;
                }
            }
        }

        private async Task HandshakeAsync(TimeSpan timeout, CancellationToken ct)
        {
            byte[] hello = BuildHello(out byte[] nc);
            lock (_gate) _nc = nc;
            DateTime start = DateTime.UtcNow;
            TimeSpan authWait = timeout < TimeSpan.FromSeconds(5) ? timeout : TimeSpan.FromSeconds(5);
            bool challenged = false;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                byte[]? proof = null;
                lock (_gate)
                {
                    if (_accepted) return;
                    if (_key != null) proof = Seal(new WireHeader(WireChannel.Control, WireType.Proof, 0, _sid, 0, 0, 0), _key, 0, Array.Empty<byte>());
                }
                TimeSpan elapsed = DateTime.UtcNow - start;
                if (proof == null && elapsed >= authWait)
                    throw new AuthenticationFailedException(
                        $"No answer that authenticates under the key came from udp:{_host}:{_port} within {authWait.TotalSeconds:0.#} s: " +
                        "the key is wrong, or the kgdboe module there was loaded without a key (raw mode), or it is not reachable. The kernel was not stopped.");
                if (proof != null && !challenged)
                {
                    challenged = true;
                    start = DateTime.UtcNow;
                    elapsed = TimeSpan.Zero;
                }
                if (proof != null && elapsed >= timeout)
                    throw new TargetTimeoutException($"udp:{_host}:{_port} answered the v2 challenge but did not accept the proof within {timeout.TotalSeconds:0.#} s.");
                await SendDatagramAsync(proof ?? hello).ConfigureAwait(false);
                await Task.Delay(HandshakeStep, ct).ConfigureAwait(false);
            }
        }

        private static byte[] Seal(WireHeader header, byte[] key, ulong nonce, byte[] body)
        {
            var head = new byte[WireHeader.Size];
            header.Write(head);
            byte[] sealedBody = WireCrypto.Seal(key, nonce, head, default, body);
            var datagram = new byte[WireHeader.Size + sealedBody.Length];
            Buffer.BlockCopy(head, 0, datagram, 0, WireHeader.Size);
            Buffer.BlockCopy(sealedBody, 0, datagram, WireHeader.Size, sealedBody.Length);
            return datagram;
        }

        /// <summary>A session datagram: the next packet number, our ack; _gate held.</summary>
        private byte[] SealLocked(WireChannel channel, byte type, uint seq, byte[] body)
        {
            uint pn = _txPn++;
            var header = new WireHeader(channel, type, body.Length, _sid, pn, seq, _rxNext);
            return Seal(header, _key!, pn, body);
        }

        // ---- receiving -------------------------------------------------------------------------

        private async Task ReceiveLoopAsync()
        {
            UdpClient udp = _udp!;
            while (Volatile.Read(ref _disposed) == 0)
            {
                UdpReceiveResult r;
                try
                {
                    r = await udp.ReceiveAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException) { break; }
                catch (SocketException) when (Volatile.Read(ref _disposed) == 0) { continue; } // ICMP port unreachable
                catch (SocketException) { break; }
                try
                {
                    Handle(r.Buffer);
                }
                catch (Exception e) when (!(e is OutOfMemoryException))
                {
                    // A handler of ours failed: the stream is broken for the session.
                    Close(e);
                    break;
                }
            }
        }

        private void Handle(byte[] datagram)
        {
            _stats.AddPacketReceived();
            if (!WireHeader.TryRead(datagram, out WireHeader h)) { _stats.AddDuplicateDropped(); return; }
            var deliver = new List<byte[]>();
            var resendReads = new List<byte[]>();
            byte[]? reply = null;
            Action<ArraySegment<byte>>? onReceived;
            lock (_gate)
            {
                onReceived = _onReceived;
                if (h.Channel == WireChannel.Control && h.Type == WireType.Challenge)
                {
                    TakeChallengeLocked(h, datagram);
                    return;
                }
                if (_key == null || h.SessionId != _sid) return;
                byte[]? body = WireCrypto.Open(_key, WireCrypto.ModuleDirection | h.PacketNumber,
                    new ReadOnlySpan<byte>(datagram, 0, WireHeader.Size), default,
                    new ReadOnlySpan<byte>(datagram, WireHeader.Size, datagram.Length - WireHeader.Size));
                if (body == null || !ReplayOkLocked(h.PacketNumber)) { _stats.AddDuplicateDropped(); return; }
                switch (h.Channel)
                {
                    case WireChannel.Control when h.Type == WireType.Accept:
                        _accepted = true;
                        break;
                    case WireChannel.Control when h.Type == WireType.Close:
                        _closed = true;
                        break;
                    case WireChannel.Stream:
                        AckLocked(h.Ack);
                        if (h.Type == WireType.Data && body.Length > 0)
                        {
                            if (h.Seq == _rxNext)
                            {
                                _rxNext++;
                                if (onReceived == null) _early.Add(body);
                                else deliver.Add(body);
                            }
                            else
                            {
                                _stats.AddDuplicateDropped();
                            }
                            reply = SealLocked(WireChannel.Stream, WireType.Ack, 0, Array.Empty<byte>());
                        }
                        break;
                    case WireChannel.Memory when h.Type == WireType.MemData:
                        TakeReadPieceLocked(h.Seq, body, resendReads);
                        break;
                }
            }
            if (reply != null) _ = SendQuietlyAsync(reply);
            foreach (byte[] d in resendReads) _ = SendQuietlyAsync(d);
            foreach (byte[] b in deliver) onReceived!(new ArraySegment<byte>(b));
        }

        private void TakeChallengeLocked(WireHeader h, byte[] datagram)
        {
            // Until ACCEPT, a later CHALLENGE replaces an earlier one: the module keeps only its last few,
            // and on a slow target several HELLOs may be answered before the first answer arrives.
            if (_accepted || _nc == null || h.Length != NonceSize || h.PacketNumber != 0 || h.SessionId == _sid) return;
            var nm = new byte[NonceSize];
            Buffer.BlockCopy(datagram, WireHeader.Size, nm, 0, NonceSize);
            var sidBytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(sidBytes, h.SessionId);
            byte[] key = WireCrypto.Kdf(_psk, WireCrypto.SessionLabel, _nc, nm, sidBytes);
            // Empty plaintext: the tag over header || Nm || Nc proves the key and binds our HELLO.
            byte[]? ok = WireCrypto.Open(key, WireCrypto.ModuleDirection,
                new ReadOnlySpan<byte>(datagram, 0, WireHeader.Size + NonceSize), _nc,
                new ReadOnlySpan<byte>(datagram, WireHeader.Size + NonceSize, datagram.Length - WireHeader.Size - NonceSize));
            if (ok == null) { _stats.AddDuplicateDropped(); return; }
            _key = key;
            _sid = h.SessionId;
            _txPn = 1;
            _rxPnMax = 0;
            _rxPnSeen = 1;
        }

        /// <summary>Each module packet number is taken once (64-packet window, after the tag checked).</summary>
        private bool ReplayOkLocked(uint pn)
        {
            if (pn > _rxPnMax)
            {
                uint shift = pn - _rxPnMax;
                _rxPnSeen = shift >= 64 ? 0 : _rxPnSeen << (int)shift;
                _rxPnSeen |= 1;
                _rxPnMax = pn;
                return true;
            }
            uint back = _rxPnMax - pn;
            if (back >= 64 || (_rxPnSeen & (1UL << (int)back)) != 0) return false;
            _rxPnSeen |= 1UL << (int)back;
            return true;
        }

        private void AckLocked(uint ack)
        {
            if (unchecked(ack - _txUna - 1) >= unchecked(_txNext - _txUna)) return;
            int freed = 0;
            for (uint s = _txUna; s != ack; s++)
                if (_unacked.Remove(s)) freed++;
            DateTime now = DateTime.UtcNow;
            if (_timedAt is DateTime timedAt && unchecked(_timedSeq - _txUna) < unchecked(ack - _txUna))
            {
                _streamRtt.Sample(now - timedAt);
                _timedAt = null;
            }
            _txUna = ack;
            _txSentAt = now;
            _rto = _streamRtt.Timeout;
            if (freed > 0) _windowSlots.Release(freed);
        }

        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed)
        {
            List<byte[]> early;
            lock (_gate)
            {
                _onReceived = onReceived;
                _onClosed = onClosed;
                early = new List<byte[]>(_early);
                _early.Clear();
            }
            foreach (byte[] b in early) onReceived(new ArraySegment<byte>(b));
        }

        // ---- sending ---------------------------------------------------------------------------

        private async Task SendDatagramAsync(byte[] datagram)
        {
            UdpClient udp = _udp ?? throw new InvalidOperationException("Connect first.");
            try
            {
                await udp.SendAsync(datagram, datagram.Length).ConfigureAwait(false);
                _stats.AddPacketSent();
            }
            catch (ObjectDisposedException) { }
            catch (SocketException) { } // the link may come back; the retransmission timer asks again
        }

        private async Task SendQuietlyAsync(byte[] datagram)
        {
            try { await SendDatagramAsync(datagram).ConfigureAwait(false); }
            catch (InvalidOperationException) { }
        }

        public async Task SendAsync(byte[] data, CancellationToken ct)
        {
            if (data == null) throw new ArgumentNullException(nameof(data));
            // A lone '+' (the ack of a reply) waits up to HoldAck for the next request and goes out in
            // front of it: one datagram fewer per request, and the stub takes the two in one read.
            lock (_gate)
            {
                if (data.Length == 1 && data[0] == (byte)'+' && !_ackHeld)
                {
                    _ackHeld = true;
                    _ackHeldAt = DateTime.UtcNow;
                    return;
                }
                if (_ackHeld)
                {
                    _ackHeld = false;
                    var joined = new byte[data.Length + 1];
                    joined[0] = (byte)'+';
                    Buffer.BlockCopy(data, 0, joined, 1, data.Length);
                    data = joined;
                }
            }
            await SendStreamAsync(data, ct).ConfigureAwait(false);
        }

        private async Task SendStreamAsync(byte[] data, CancellationToken ct)
        {
            for (int done = 0; done < data.Length;)
            {
                int n = Math.Min(MaxSegment, data.Length - done);
                var segment = new byte[n];
                Buffer.BlockCopy(data, done, segment, 0, n);
                await _windowSlots.WaitAsync(ct).ConfigureAwait(false);
                byte[] datagram;
                lock (_gate)
                {
                    if (_closed || Volatile.Read(ref _disposed) != 0)
                    {
                        _windowSlots.Release();
                        throw new TargetConnectionException($"The v2 session to udp:{_host}:{_port} is closed.");
                    }
                    uint seq = _txNext++;
                    _unacked[seq] = segment;
                    if (_txNext - _txUna == 1) { _txSentAt = DateTime.UtcNow; _rto = _streamRtt.Timeout; }
                    if (_timedAt == null) { _timedSeq = seq; _timedAt = DateTime.UtcNow; }
                    datagram = SealLocked(WireChannel.Stream, WireType.Data, seq, segment);
                }
                await SendDatagramAsync(datagram).ConfigureAwait(false);
                done += n;
            }
        }

        /// <summary>Resends what waited too long: unacked stream segments and missing parts of fast reads.</summary>
        private async Task TimerLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try { await Task.Delay(Tick, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                var resend = new List<byte[]>();
                lock (_gate)
                {
                    DateTime now = DateTime.UtcNow;
                    if (_key != null && _txUna != _txNext && now - _txSentAt >= _rto)
                    {
                        for (uint s = _txUna; s != _txNext; s++)
                            if (_unacked.TryGetValue(s, out byte[]? seg))
                            {
                                resend.Add(SealLocked(WireChannel.Stream, WireType.Data, s, seg));
                                _stats.AddRetransmission();
                            }
                        _txSentAt = now;
                        _timedAt = null; // an ack now could be for either copy
                        _rto = _rto + _rto > RtoMax ? RtoMax : _rto + _rto;
                    }
                    RetryReadsLocked(now, resend);
                }
                bool flushAck = false;
                lock (_gate)
                {
                    if (_ackHeld && DateTime.UtcNow - _ackHeldAt >= HoldAck) { _ackHeld = false; flushAck = true; }
                }
                foreach (byte[] d in resend) await SendDatagramAsync(d).ConfigureAwait(false);
                if (flushAck)
                {
                    try { await SendStreamAsync(new[] { (byte)'+' }, _stop.Token).ConfigureAwait(false); }
                    catch (Exception e) when (e is OperationCanceledException || e is TargetConnectionException) { }
                }
            }
        }

        // ---- fast memory reads (issue 15) ------------------------------------------------------

        private sealed class FastRead
        {
            public FastRead(ulong address, int length)
            {
                Address = address;
                Length = length;
                Buffer = new byte[length];
            }

            public ulong Address { get; }
            public int Length { get; }
            public byte[] Buffer { get; }
            public IntervalSet Have { get; } = new IntervalSet();
            public int? ErrorAt { get; set; }
            public int ErrorCode { get; set; }
            public int Attempts { get; set; }
            public TaskCompletionSource<bool> Done { get; } = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            public int Limit => ErrorAt ?? Length;
        }

        /// <summary>One request on the wire: [Start, End) of a read, asked for under one tag.</summary>
        private sealed class ReadTag
        {
            public ReadTag(uint tag, FastRead read, int start, int end, DateTime sentAt)
            {
                Tag = tag;
                Read = read;
                Start = start;
                End = end;
                SentAt = sentAt;
            }

            public uint Tag { get; }
            public FastRead Read { get; }
            public int Start { get; }
            public int End { get; }
            public DateTime SentAt { get; }

            /// <summary>Pieces that came after a hole of this request (see HoleEvidence).</summary>
            public int Evidence { get; set; }

            /// <summary>Its holes were asked for again under newer tags; its late pieces are still taken.</summary>
            public bool Superseded { get; set; }

            /// <summary>Every byte of [Start, End) below the read's limit has arrived.</summary>
            public bool Complete { get; set; }
        }

        /// <summary>Asks for [start, end) of a read under a new tag; _gate held.</summary>
        private byte[] RequestLocked(FastRead read, int start, int end)
        {
            uint tag = _nextTag++;
            _readTags[tag] = new ReadTag(tag, read, start, end, DateTime.UtcNow);
            var body = new byte[12];
            BinaryPrimitives.WriteUInt64LittleEndian(body, read.Address + (ulong)start);
            BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(body, 8, 4), (uint)(end - start));
            _stats.AddRequest();
            return SealLocked(WireChannel.Memory, WireType.Read, tag, body);
        }

        /// <summary>The holes of a request's range [Start, End), below the read's limit.</summary>
        private static IEnumerable<(int Start, int End)> HolesOf(ReadTag t)
        {
            int end = Math.Min(t.End, t.Read.Limit);
            foreach ((int s, int e) in t.Read.Have.Gaps(end))
            {
                if (e <= t.Start) continue;
                yield return (Math.Max(s, t.Start), e);
            }
        }

        /// <summary>Asks again for the holes of a request under new tags; _gate held.</summary>
        private void RequestHolesAgainLocked(ReadTag t, List<byte[]> send)
        {
            t.Superseded = true;
            RequestRangesLocked(t.Read, HolesOf(t).ToList(), send);
        }

        /// <summary>Asks for each range of a read in requests of at most ReadRequestSize; _gate held.</summary>
        private void RequestRangesLocked(FastRead read, IEnumerable<(int Start, int End)> ranges, List<byte[]> send)
        {
            foreach ((int s, int e) in ranges)
                for (int at = s; at < e; at += ReadRequestSize)
                    send.Add(RequestLocked(read, at, Math.Min(e, at + ReadRequestSize)));
            _stats.AddRetransmission();
        }

        /// <summary>
        /// Takes one piece of a fast read. A hole that later pieces have passed (HoleEvidence of them, or the
        /// request's own last piece) is asked for again at once, into send, instead of after a timeout.
        /// </summary>
        private void TakeReadPieceLocked(uint tag, byte[] body, List<byte[]> send)
        {
            if (body.Length < 8 || !_readTags.TryGetValue(tag, out ReadTag? entry)) { _stats.AddDuplicateDropped(); return; }
            FastRead read = entry.Read;
            int offset = entry.Start + (int)BinaryPrimitives.ReadUInt32LittleEndian(body);
            int status = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(body, 4, 4));
            int pieceEnd = offset;
            if (status != 0)
            {
                if (read.ErrorAt == null || offset < read.ErrorAt) { read.ErrorAt = offset; read.ErrorCode = -status; }
            }
            else
            {
                int n = Math.Min(body.Length - 8, read.Length - offset);
                if (n > 0 && offset >= 0)
                {
                    System.Buffer.BlockCopy(body, 8, read.Buffer, offset, n);
                    read.Have.Add(offset, offset + n);
                    pieceEnd = offset + n;
                    _stats.AddBytesRead(n);
                }
            }
            DateTime now = DateTime.UtcNow;
            _readHeardAt = now;
            _silentRounds = 0;
            read.Attempts = 0;
            if (read.Have.Covers(read.Limit)) { FinishLocked(read, null); return; }
            if (!entry.Complete && !HolesOf(entry).Any())
            {
                entry.Complete = true;
                // Karn: only a request sent once tells the round trip; a superseded one may be answered by its copy.
                if (!entry.Superseded) _readRtt.Sample(now - entry.SentAt);
            }
            bool last = status != 0 || pieceEnd >= Math.Min(entry.End, read.Limit);
            foreach (ReadTag t in _readTags.Values.ToList())
            {
                if (t.Complete || t.Superseded) continue;
                bool passed = t == entry
                    ? HolesOf(t).Any(h => h.Start < offset)
                    : unchecked((int)(tag - t.Tag)) > 0 && HolesOf(t).Any();
                if (!passed) continue;
                if (t == entry && last) t.Evidence = HoleEvidence;
                else t.Evidence++;
                if (t.Evidence >= HoleEvidence) RequestHolesAgainLocked(t, send);
            }
        }

        private void FinishLocked(FastRead read, Exception? error)
        {
            _reads.Remove(read);
            var stale = new List<uint>();
            foreach (var kv in _readTags) if (kv.Value.Read == read) stale.Add(kv.Key);
            foreach (uint t in stale) _readTags.Remove(t);
            if (error != null) read.Done.TrySetException(error);
            else read.Done.TrySetResult(true);
        }

        /// <summary>
        /// When no piece has come for a while although reads are open, the module has nothing left to send, or
        /// is slow (a descheduled TCG guest). Then the oldest request with holes is asked for again (only it: a
        /// slow module would otherwise serve every open request twice). Its answer shows the rest as lost or
        /// not, because the module serves requests in order (HoleEvidence). The wait is a quarter of the
        /// measured request round trip, 20 ms at least, doubled after each silent round up to 2 s; after
        /// ReadAttempts silent rounds in a row the oldest read counts as not answering.
        /// </summary>
        private void RetryReadsLocked(DateTime now, List<byte[]> send)
        {
            if (_reads.Count == 0) { _silentRounds = 0; return; }
            long quarter = Math.Max(SilenceFloor.Ticks, _readRtt.Timeout.Ticks / 4);
            TimeSpan wait = TimeSpan.FromTicks(Math.Min(quarter << Math.Min(_silentRounds, 7), RtoMax.Ticks));
            if (now - _readHeardAt < wait) return;
            _silentRounds++;
            _readHeardAt = now;
            FastRead oldest = _reads[0];
            if (++oldest.Attempts > ReadAttempts)
            {
                FinishLocked(oldest, new TargetTimeoutException(
                    $"udp:{_host}:{_port} did not answer a fast read at 0x{oldest.Address:x16} after {ReadAttempts} attempts.", "v2 read"));
                return;
            }
            ReadTag? first = null;
            foreach (ReadTag t in _readTags.Values)
                if (!t.Complete && !t.Superseded && HolesOf(t).Any() && (first == null || unchecked((int)(t.Tag - first.Tag)) < 0)) first = t;
            if (first != null) { RequestHolesAgainLocked(first, send); return; }
            // Every request of the open reads was asked for again already: ask for the oldest read's holes.
            foreach (ReadTag t in _readTags.Values) if (t.Read == oldest) t.Superseded = true;
            RequestRangesLocked(oldest, oldest.Have.Gaps(oldest.Limit).ToList(), send);
        }

        /// <summary>
        /// Reads length bytes at address through the module's fast path, ReadWindow requests of
        /// ReadRequestSize bytes in flight, and hands each request's bytes over in address order.
        /// A page the kernel cannot read ends the read with a <see cref="TargetErrorException"/>
        /// (errno from the module, 14 = EFAULT, Address = the first byte not read), after every byte
        /// before it was handed over. Only while the target is stopped (a running kernel ignores it).
        /// </summary>
        public async Task ReadMemoryAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, IProgress<long>? progress, CancellationToken ct)
        {
            var inFlight = new Queue<FastRead>();
            long planned = 0, done = 0;
            try
            {
                while (done < length)
                {
                    while (inFlight.Count < Math.Max(1, ReadWindow) && planned < length)
                    {
                        int n = (int)Math.Min(ReadRequestSize, length - planned);
                        var read = new FastRead(address + (ulong)planned, n);
                        byte[] request;
                        lock (_gate)
                        {
                            if (_key == null || _closed) throw new TargetConnectionException($"The v2 session to udp:{_host}:{_port} is closed.");
                            if (_reads.Count == 0) _readHeardAt = DateTime.UtcNow;
                            _reads.Add(read);
                            request = RequestLocked(read, 0, n);
                        }
                        inFlight.Enqueue(read);
                        planned += n;
                        await SendDatagramAsync(request).ConfigureAwait(false);
                    }
                    FastRead first = inFlight.Dequeue();
                    using (ct.Register(() => first.Done.TrySetCanceled()))
                        await first.Done.Task.ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                    int good = first.Limit;
                    if (good > 0)
                    {
                        byte[] bytes = good == first.Length ? first.Buffer : Slice(first.Buffer, good);
                        await onChunk(first.Address, bytes).ConfigureAwait(false);
                        done += good;
                        progress?.Report(done);
                    }
                    if (first.ErrorAt != null)
                    {
                        ulong at = first.Address + (ulong)first.ErrorAt.Value;
                        throw new TargetErrorException(
                            $"udp:{_host}:{_port}: reading at 0x{at:x} failed: {KgdbOe.Protocol.ErrorText.Describe(first.ErrorCode)} ({done} bytes before it were read).",
                            first.ErrorCode, at, "v2 read");
                    }
                }
            }
            finally
            {
                lock (_gate)
                    foreach (FastRead r in inFlight) FinishLocked(r, new OperationCanceledException());
            }
        }

        private static byte[] Slice(byte[] b, int n)
        {
            var r = new byte[n];
            Buffer.BlockCopy(b, 0, r, 0, n);
            return r;
        }

        // ---- closing ---------------------------------------------------------------------------

        private void Close(Exception? reason)
        {
            Action<Exception?>? onClosed;
            lock (_gate)
            {
                onClosed = _onClosed;
                _onClosed = null;
            }
            onClosed?.Invoke(reason);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            byte[]? close = null, ack = null;
            lock (_gate)
            {
                // A held '+' goes first: a stub that sent the detach's OK waits for it before it resumes.
                if (_ackHeld && _accepted && !_closed)
                {
                    _ackHeld = false;
                    uint seq = _txNext++;
                    _unacked[seq] = new[] { (byte)'+' };
                    ack = SealLocked(WireChannel.Stream, WireType.Data, seq, _unacked[seq]);
                }
                if (_accepted && !_closed) close = SealLocked(WireChannel.Control, WireType.Close, 0, Array.Empty<byte>());
                _closed = true;
                foreach (FastRead r in _reads.ToArray()) FinishLocked(r, new ObjectDisposedException(nameof(WireTransport)));
            }
            _stop.Cancel();
            try
            {
                // Best effort: the module also takes a new handshake over a session nobody closed.
                if (ack != null) _udp?.Send(ack, ack.Length);
                if (close != null) _udp?.Send(close, close.Length);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
            _udp?.Dispose();
            Close(null);
            Array.Clear(_psk, 0, _psk.Length);
            lock (_gate) if (_key != null) Array.Clear(_key, 0, _key.Length);
        }
    }
}
