using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Wire;

namespace KgdbOe.Tests.Wire
{
    /// <summary>
    /// The module's side of the v2 wire (docs/wire-v2.md) on a loopback socket, for fault injection
    /// only: it drops chosen datagrams each way, echoes the stream back upper-cased, serves fast
    /// reads from a byte array (an "unmapped" hole answers -EFAULT), and resends like the module
    /// (go-back-N, 250 ms). The real module is tested in the lab (tests/pester/Wire.Tests.ps1).
    /// </summary>
    internal sealed class FakeWireModule : IDisposable
    {
        private readonly UdpClient _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly byte[] _psk;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly object _gate = new object();
        private readonly Func<int, bool> _dropIn, _dropOut;
        private IPEndPoint? _peer;
        private byte[]? _key;
        private uint _sid, _txPn = 2, _rxNext, _txUna, _txNext;
        private readonly Dictionary<uint, byte[]> _unacked = new Dictionary<uint, byte[]>();
        private DateTime _sentAt;
        private int _in, _out;

        public FakeWireModule(byte[] psk, Func<int, bool>? dropIn = null, Func<int, bool>? dropOut = null)
        {
            _psk = psk;
            _dropIn = dropIn ?? (_ => false);
            _dropOut = dropOut ?? (_ => false);
            _ = Task.Run(LoopAsync);
            _ = Task.Run(ResendAsync);
        }

        public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
        public byte[] Memory { get; set; } = Array.Empty<byte>();
        public ulong MemoryBase { get; set; }
        /// <summary>[start, end) offsets into Memory that read as unmapped.</summary>
        public (int Start, int End) Hole { get; set; } = (-1, -1);
        public int Sessions { get; private set; }
        public int Dropped { get; private set; }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                UdpReceiveResult r;
                try { r = await _udp.ReceiveAsync().ConfigureAwait(false); }
                catch (ObjectDisposedException) { return; }
                catch (SocketException) { continue; }
                if (_dropIn(Interlocked.Increment(ref _in))) continue;
                lock (_gate) Handle(r.Buffer, r.RemoteEndPoint);
            }
        }

        private void Send(byte[] d)
        {
            if (_peer == null || _dropOut(Interlocked.Increment(ref _out))) return;
            try { _udp.Send(d, d.Length, _peer); } catch (ObjectDisposedException) { } catch (SocketException) { }
        }

        private byte[] Seal(WireChannel ch, byte type, uint seq, byte[] body)
        {
            uint pn = _txPn++;
            var head = new byte[WireHeader.Size];
            new WireHeader(ch, type, body.Length, _sid, pn, seq, _rxNext).Write(head);
            byte[] s = WireCrypto.Seal(_key!, WireCrypto.ModuleDirection | pn, head, default, body);
            var d = new byte[head.Length + s.Length];
            head.CopyTo(d, 0);
            s.CopyTo(d, head.Length);
            return d;
        }

        private void Handle(byte[] d, IPEndPoint from)
        {
            if (!WireHeader.TryRead(d, out WireHeader h)) { Dropped++; return; }
            var head = new ReadOnlySpan<byte>(d, 0, WireHeader.Size);
            var rest = new ReadOnlySpan<byte>(d, WireHeader.Size, d.Length - WireHeader.Size);
            if (h.Channel == WireChannel.Control && h.Type == WireType.Hello)
            {
                ulong nonce = h.Seq | (ulong)h.Ack << 32;
                byte[]? nc = WireCrypto.Open(WireCrypto.Kdf(_psk, WireCrypto.HelloLabel), nonce, head, default, rest);
                if (nc == null) { Dropped++; return; }
                var nm = new byte[16];
                new Random().NextBytes(nm);
                uint sid = (uint)new Random().Next() | 1;
                var sidBytes = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(sidBytes, sid);
                _pending[sid] = WireCrypto.Kdf(_psk, WireCrypto.SessionLabel, nc, nm, sidBytes);
                var c = new byte[WireHeader.Size + 16];
                new WireHeader(WireChannel.Control, WireType.Challenge, 16, sid, 0, 0, 0).Write(c);
                nm.CopyTo(c, WireHeader.Size);
                byte[] tag = WireCrypto.Seal(_pending[sid], WireCrypto.ModuleDirection, c, nc, Array.Empty<byte>());
                var all = new byte[c.Length + tag.Length];
                c.CopyTo(all, 0);
                tag.CopyTo(all, c.Length);
                _peer = from;
                Send(all);
                return;
            }
            if (h.Channel == WireChannel.Control && h.Type == WireType.Proof && _pending.TryGetValue(h.SessionId, out byte[]? pk))
            {
                if (WireCrypto.Open(pk, 0, head, default, rest) == null) { Dropped++; return; }
                _pending.Remove(h.SessionId);
                _key = pk;
                _sid = h.SessionId;
                _peer = from;
                Sessions++;
                _txPn = 1;
                Send(Seal(WireChannel.Control, WireType.Accept, 0, Array.Empty<byte>()));
                return;
            }
            if (_key == null || h.SessionId != _sid) { Dropped++; return; }
            byte[]? body = WireCrypto.Open(_key, h.PacketNumber, head, default, rest);
            if (body == null) { Dropped++; return; }
            if (h.Channel == WireChannel.Stream)
            {
                if (unchecked(h.Ack - _txUna - 1) < unchecked(_txNext - _txUna))
                {
                    for (uint s = _txUna; s != h.Ack; s++) _unacked.Remove(s);
                    _txUna = h.Ack;
                    _sentAt = DateTime.UtcNow;
                }
                if (h.Type == WireType.Data && body.Length > 0)
                {
                    if (h.Seq == _rxNext)
                    {
                        _rxNext++;
                        byte[] echo = System.Text.Encoding.ASCII.GetBytes(System.Text.Encoding.ASCII.GetString(body).ToUpperInvariant());
                        uint seq = _txNext++;
                        _unacked[seq] = echo;
                        if (_txNext - _txUna == 1) _sentAt = DateTime.UtcNow;
                        Send(Seal(WireChannel.Stream, WireType.Data, seq, echo));
                    }
                    else
                    {
                        Send(Seal(WireChannel.Stream, WireType.Ack, 0, Array.Empty<byte>()));
                    }
                }
            }
            else if (h.Channel == WireChannel.Memory && h.Type == WireType.Read && body.Length == 12)
            {
                ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(body);
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(body, 8, 4));
                int start = (int)(addr - MemoryBase);
                for (int done = 0; done < len;)
                {
                    int n = Math.Min(1424, len - done);
                    int at = start + done;
                    int bad = Hole.Start >= 0 && at + n > Hole.Start && at < Hole.End ? Math.Max(Hole.Start, at) - at : -1;
                    if (bad >= 0) n = bad;
                    if (n > 0)
                    {
                        var piece = new byte[8 + n];
                        BinaryPrimitives.WriteUInt32LittleEndian(piece, (uint)done);
                        Array.Copy(Memory, at, piece, 8, n);
                        Send(Seal(WireChannel.Memory, WireType.MemData, h.Seq, piece));
                        done += n;
                    }
                    if (bad >= 0)
                    {
                        var err = new byte[8];
                        BinaryPrimitives.WriteUInt32LittleEndian(err, (uint)done);
                        BinaryPrimitives.WriteInt32LittleEndian(new Span<byte>(err, 4, 4), -14);
                        Send(Seal(WireChannel.Memory, WireType.MemData, h.Seq, err));
                        break;
                    }
                }
            }
        }

        private readonly Dictionary<uint, byte[]> _pending = new Dictionary<uint, byte[]>();

        private async Task ResendAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try { await Task.Delay(50, _stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                lock (_gate)
                {
                    if (_key == null || _txUna == _txNext || DateTime.UtcNow - _sentAt < TimeSpan.FromMilliseconds(250)) continue;
                    _sentAt = DateTime.UtcNow;
                    for (uint s = _txUna; s != _txNext; s++)
                        if (_unacked.TryGetValue(s, out byte[]? seg)) Send(Seal(WireChannel.Stream, WireType.Data, s, seg));
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _udp.Dispose();
        }
    }
}
