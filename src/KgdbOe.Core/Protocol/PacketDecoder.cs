using System;
using System.Collections.Generic;
using System.Text;

namespace KgdbOe.Protocol
{
    /// <summary>
    /// Turns an incoming byte stream into acks, naks, packets and junk. Bytes may arrive in any slicing:
    /// a packet split over datagrams, several packets in one datagram. A '$' inside a packet restarts it
    /// (the raw '$' never occurs in a valid payload, so the previous packet lost its tail).
    /// Never throws on input: malformed data becomes BadPacket or Junk.
    /// </summary>
    internal sealed class PacketDecoder
    {
        private enum State { Idle, Body, Checksum1, Checksum2 }

        private readonly int _maxPacket;
        private readonly List<byte> _raw = new List<byte>();
        private readonly List<byte> _junk = new List<byte>();
        private State _state = State.Idle;
        private int _checksumHigh;

        public PacketDecoder(int maxPacketBytes = 1 << 20)
        {
            _maxPacket = maxPacketBytes;
        }

        public void Feed(ReadOnlySpan<byte> data, List<WireEvent> output)
        {
            foreach (byte b in data) Step(b, output);
            FlushJunk(output);
        }

        public List<WireEvent> Feed(ReadOnlySpan<byte> data)
        {
            var list = new List<WireEvent>();
            Feed(data, list);
            return list;
        }

        /// <summary>Forget a half-read packet (e.g. when a transport reconnects).</summary>
        public void Reset()
        {
            _raw.Clear();
            _junk.Clear();
            _state = State.Idle;
        }

        private void Step(byte b, List<WireEvent> output)
        {
            switch (_state)
            {
                case State.Idle:
                    if (b == (byte)'$') { FlushJunk(output); _raw.Clear(); _state = State.Body; }
                    else if (b == (byte)'+') { FlushJunk(output); output.Add(new WireEvent(WireEventKind.Ack)); }
                    else if (b == (byte)'-') { FlushJunk(output); output.Add(new WireEvent(WireEventKind.Nak)); }
                    else _junk.Add(b);
                    break;
                case State.Body:
                    if (b == (byte)'#') _state = State.Checksum1;
                    else if (b == (byte)'$') { output.Add(Bad("a new packet began before '#'")); _raw.Clear(); }
                    else if (_raw.Count >= _maxPacket) { output.Add(Bad($"longer than {_maxPacket} bytes")); _raw.Clear(); _state = State.Idle; }
                    else _raw.Add(b);
                    break;
                case State.Checksum1:
                    _checksumHigh = Hex.Value((char)b);
                    if (b == (byte)'$') { output.Add(Bad("a new packet began inside the checksum")); _raw.Clear(); _state = State.Body; }
                    else if (_checksumHigh < 0) { output.Add(Bad($"checksum digit 0x{b:x2} is not hex")); _state = State.Idle; }
                    else _state = State.Checksum2;
                    break;
                case State.Checksum2:
                    int low = Hex.Value((char)b);
                    if (b == (byte)'$') { output.Add(Bad("a new packet began inside the checksum")); _raw.Clear(); _state = State.Body; break; }
                    _state = State.Idle;
                    if (low < 0) { output.Add(Bad($"checksum digit 0x{b:x2} is not hex")); break; }
                    byte expected = (byte)((_checksumHigh << 4) | low);
                    byte[] raw = _raw.ToArray();
                    byte actual = Checksum.Compute(raw);
                    if (actual != expected) { output.Add(Bad($"checksum {expected:x2} but the bytes sum to {actual:x2}")); break; }
                    if (!PayloadDecoder.TryDecode(raw, out byte[] payload, out string? error)) { output.Add(Bad(error)); break; }
                    output.Add(new WireEvent(WireEventKind.Packet, payload));
                    break;
            }
        }

        private WireEvent Bad(string? why) => new WireEvent(WireEventKind.BadPacket, _raw.ToArray(), why);

        private void FlushJunk(List<WireEvent> output)
        {
            if (_junk.Count == 0) return;
            output.Add(new WireEvent(WireEventKind.Junk, _junk.ToArray(), Encoding.ASCII.GetString(_junk.ToArray())));
            _junk.Clear();
        }
    }
}
