using System;
using System.Collections.Generic;
using System.Text;
using KgdbOe.Protocol;
using Xunit;

namespace KgdbOe.Tests.Codec
{
    /// <summary>Random input, biased towards the protocol's own bytes, must never make the decoder throw.</summary>
    public class DecoderFuzzTests
    {
        private static readonly byte[] Alphabet = Encoding.ASCII.GetBytes("$#}*+-0123456789abcdefOKET:;,m\u0003");

        [Fact]
        public void Random_streams_never_throw_and_good_packets_after_garbage_still_decode()
        {
            var random = new Random(20261127);
            for (int round = 0; round < 3000; round++)
            {
                var decoder = new PacketDecoder(maxPacketBytes: 4096);
                var events = new List<WireEvent>();
                int length = random.Next(0, 600);
                var junk = new byte[length];
                for (int i = 0; i < length; i++)
                    junk[i] = random.Next(3) == 0 ? (byte)random.Next(256) : Alphabet[random.Next(Alphabet.Length)];
                int at = 0;
                while (at < junk.Length)
                {
                    int n = Math.Min(junk.Length - at, random.Next(1, 64));
                    decoder.Feed(new ReadOnlySpan<byte>(junk, at, n), events);
                    at += n;
                }
                // Whatever state the garbage left, one '#xx' at most can be eaten before a fresh packet decodes.
                events.Clear();
                decoder.Feed(Encoding.ASCII.GetBytes("#00"), events);
                events.Clear();
                decoder.Feed(PacketEncoder.Encode("S05"), events);
                Assert.Contains(events, e => e.Kind == WireEventKind.Packet && e.PayloadText == "S05");
            }
        }
    }
}
