using System;
using System.Collections.Generic;
using System.Linq;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using KgdbOe.Protocol;

namespace KgdbOe.Tests.Codec
{
    public class CodecPropertyTests
    {
        [Property(MaxTest = 500)]
        public bool Encode_then_decode_gives_the_payload_back(byte[] payload)
        {
            var events = new PacketDecoder().Feed(PacketEncoder.Encode(payload));
            return events.Count == 1 && events[0].Kind == WireEventKind.Packet && events[0].Payload.SequenceEqual(payload);
        }

        [Property(MaxTest = 300)]
        public bool Any_slicing_into_datagrams_gives_the_same_packets(byte[][] payloads, int seed)
        {
            byte[] stream = payloads.SelectMany(p => PacketEncoder.Encode(p)).ToArray();
            var random = new Random(seed);
            var decoder = new PacketDecoder();
            var events = new List<WireEvent>();
            int at = 0;
            while (at < stream.Length)
            {
                int n = Math.Min(stream.Length - at, random.Next(1, 40));
                decoder.Feed(new ReadOnlySpan<byte>(stream, at, n), events);
                at += n;
            }
            return events.Count == payloads.Length && events.Zip(payloads, (e, p) => e.Kind == WireEventKind.Packet && e.Payload.SequenceEqual(p)).All(x => x);
        }

        [Property(MaxTest = 300)]
        public bool Hex_round_trips(byte[] bytes) => Hex.Decode(Hex.Encode(bytes)).SequenceEqual(bytes);

        [Property(MaxTest = 300)]
        public bool Run_length_expansion_matches_a_naive_repeat(byte value, byte count)
        {
            // Only printable run counts that are not themselves reserved are legal on the wire.
            int n = 29 + 3 + count % 90;
            if (n == '#' || n == '$' || n == '}' || n == '*' || value == '#' || value == '$' || value == '}' || value == '*') return true;
            byte[] raw = { value, (byte)'*', (byte)n };
            return PayloadDecoder.TryDecode(raw, out byte[] payload, out _) && payload.Length == n - 29 + 1 && payload.All(b => b == value);
        }
    }
}
