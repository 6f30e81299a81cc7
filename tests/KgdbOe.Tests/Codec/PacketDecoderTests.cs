using System.Collections.Generic;
using System.Linq;
using System.Text;
using KgdbOe.Protocol;
using Xunit;

namespace KgdbOe.Tests.Codec
{
    public class PacketDecoderTests
    {
        private static List<WireEvent> Decode(params string[] datagrams)
        {
            var decoder = new PacketDecoder();
            var events = new List<WireEvent>();
            foreach (string d in datagrams) decoder.Feed(Encoding.ASCII.GetBytes(d), events);
            return events;
        }

        private static string[] Packets(List<WireEvent> events) =>
            events.Where(e => e.Kind == WireEventKind.Packet).Select(e => e.PayloadText).ToArray();

        [Fact]
        public void Reads_a_packet_and_acks()
        {
            List<WireEvent> events = Decode("+$OK#9a-");
            Assert.Equal(new[] { WireEventKind.Ack, WireEventKind.Packet, WireEventKind.Nak }, events.Select(e => e.Kind));
            Assert.Equal("OK", events[1].PayloadText);
        }

        [Fact]
        public void Skips_kdb_chatter_before_the_packet()
        {
            List<WireEvent> events = Decode("\r\nEntering kdb (current=0xffff, pid 1) on processor 0 due to Keyboard Entry\r\n[0]kdb> $S05#b8");
            Assert.Equal(new[] { "S05" }, Packets(events));
            Assert.Contains(events, e => e.Kind == WireEventKind.Junk && e.Detail!.Contains("kdb>"));
        }

        [Fact]
        public void Joins_a_packet_split_over_datagrams()
        {
            Assert.Equal(new[] { "0123456789" }, Packets(Decode("$0123", "4567", "89#", "0d")));
        }

        [Fact]
        public void Splits_a_datagram_holding_several_packets()
        {
            Assert.Equal(new[] { "OK", "S05", "E22" }, Packets(Decode("$OK#9a+$S05#b8$E22#a9")));
        }

        [Fact]
        public void Rejects_a_wrong_checksum_and_goes_on()
        {
            List<WireEvent> events = Decode("$OK#00$OK#9a");
            Assert.Equal(WireEventKind.BadPacket, events[0].Kind);
            Assert.Contains("checksum", events[0].Detail);
            Assert.Equal(new[] { "OK" }, Packets(events));
        }

        [Fact]
        public void A_dollar_inside_a_packet_restarts_it()
        {
            // The tail of the first packet was lost with its datagram.
            List<WireEvent> events = Decode("$0011223", "$OK#9a");
            Assert.Equal(WireEventKind.BadPacket, events[0].Kind);
            Assert.Equal(new[] { "OK" }, Packets(events));
        }

        [Fact]
        public void Undoes_escapes()
        {
            byte[] payload = { (byte)'a', (byte)'$', (byte)'#', (byte)'}', (byte)'*', 0 };
            var events = new PacketDecoder().Feed(PacketEncoder.Encode(payload));
            Assert.Equal(payload, Assert.Single(events).Payload);
        }

        [Theory]
        // "0* " = '0' repeated 3 more times (' ' is 32: 32 - 29 = 3).
        [InlineData("0* ", "0000")]
        [InlineData("ab*\"", "abbbbbb")]
        
        public void Expands_run_lengths(string raw, string expected)
        {
            byte[] body = Encoding.ASCII.GetBytes(raw);
            string wire = "$" + raw + "#" + Checksum.Compute(body).ToString("x2");
            Assert.Equal(new[] { expected }, Packets(Decode(wire)));
        }

        [Fact]
        public void A_run_length_at_the_start_is_a_bad_packet_not_an_exception()
        {
            List<WireEvent> events = Decode("$*3#" + Checksum.Compute(Encoding.ASCII.GetBytes("*3")).ToString("x2"));
            Assert.Equal(WireEventKind.BadPacket, Assert.Single(events).Kind);
        }

        [Fact]
        public void Console_output_is_recognised_apart_from_OK()
        {
            Assert.True(Replies.IsConsole("O" + Hex.Encode("hello\n")));
            Assert.False(Replies.IsConsole("OK"));
            Assert.Equal("hello\n", Encoding.UTF8.GetString(Hex.Decode(Hex.Encode("hello\n"))));
        }

        [Theory]
        [InlineData("E22", true, 22)]
        [InlineData("E14", true, 14)]
        [InlineData("E0a", true, 10)]
        [InlineData("OK", false, 0)]
        [InlineData("E2", false, 0)]
        public void Error_replies_carry_their_number(string reply, bool isError, int code)
        {
            Assert.Equal(isError, Replies.IsError(reply));
            if (isError) Assert.Equal(code, Replies.ErrorCode(reply));
        }

        [Theory]
        [InlineData("S05", 'S', 5, null)]
        [InlineData("T05thread:fffffffe;", 'T', 5, "fffffffe")]
        [InlineData("T02thread:01;", 'T', 2, "01")]
        [InlineData("W00", 'W', 0, null)]
        public void Stop_replies_parse(string payload, char kind, int signal, string? thread)
        {
            Assert.True(StopReply.TryParse(payload, out StopReply? stop));
            Assert.Equal(kind, stop!.Kind);
            Assert.Equal(signal, stop.Signal);
            Assert.Equal(thread, stop.Thread);
        }

        [Fact]
        public void Watch_address_is_read_from_a_qemu_stop()
        {
            Assert.True(StopReply.TryParse("T05thread:01;watch:ffffffff82a0c000;", out StopReply? stop));
            Assert.Equal(0xffffffff82a0c000UL, stop!.WatchAddress);
        }

        [Fact]
        public void Reply_shapes_refuse_replies_meant_for_other_requests()
        {
            ReplyShape read16 = ReplyShape.HexDigits(32);
            Assert.True(read16.Accepts(new string('a', 32)));
            Assert.True(read16.Accepts("E22"));
            Assert.False(read16.Accepts(new string('a', 30)));
            Assert.False(read16.Accepts("OK"));
            Assert.False(read16.Accepts("T05thread:01;"));
            Assert.False(ReplyShape.OkOrError.Accepts("0011"));
            Assert.False(ReplyShape.Any.Accepts("O" + Hex.Encode("x\n")));
        }
    }
}
