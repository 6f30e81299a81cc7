using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;
using KgdbOe.Session;
using Xunit;

namespace KgdbOe.Tests.Session
{
    /// <summary>
    /// The conversation is chosen once from the transport, and each kind keeps to its own rules: a stream
    /// is plain GDB remote protocol, the lossy kind varies read lengths and pipelines long reads.
    /// </summary>
    public class ConversationKindTests
    {
        private static SessionOptions Options() => new SessionOptions { RequestTimeout = TimeSpan.FromSeconds(5), MaxAttempts = 3 };

        [Fact]
        public void A_reliable_transport_gets_the_stream_conversation_and_raw_udp_the_lossy_one()
        {
            using RemoteSession stream = RemoteSession.Create(new ScriptedPeer(Array.Empty<(string, string?)>()), Options(), new ClientStatistics());
            using RemoteSession lossy = RemoteSession.Create(new SimulatedKgdbStub(new FaultPolicy(1), new byte[16], calls: 0), Options(), new ClientStatistics());
            Assert.IsType<StreamConversation>(stream);
            Assert.IsType<LossyDatagramConversation>(lossy);
            Assert.False(stream.StopReplyMayBeStale);
            Assert.True(lossy.StopReplyMayBeStale);
        }

        [Fact]
        public async Task A_stream_takes_a_reply_of_another_shape_as_a_protocol_error()
        {
            var peer = new ScriptedPeer(new (string, string?)[] { ("m1000,4", "OK") });
            using RemoteSession session = RemoteSession.Create(peer, Options(), new ClientStatistics());
            session.Start();
            var e = await Assert.ThrowsAsync<GdbProtocolException>(() => session.RequestAsync("m1000,4", ReplyShape.HexDigits(8), CancellationToken.None));
            Assert.Contains("'OK'", e.Message);
            Assert.Null(peer.Failure);
        }

        [Fact]
        public async Task A_stream_never_pipelines_reads_and_answers_a_batch_one_request_at_a_time_up_to_an_error()
        {
            var peer = new ScriptedPeer(new (string, string?)[] { ("m1000,2", "0102"), ("m1002,2", "E03") });
            using RemoteSession session = RemoteSession.Create(peer, Options(), new ClientStatistics());
            session.Start();
            Assert.False(session.ShouldPipelineRead(1 << 20, 511, 8));
            var handed = new List<(int, string)>();
            int delivered = await session.RequestPipelinedAsync(new[]
            {
                new PipelinedRequest("m1000,2", ReplyShape.HexDigits(4)),
                new PipelinedRequest("m1002,2", ReplyShape.HexDigits(4)),
                new PipelinedRequest("m1004,2", ReplyShape.HexDigits(4)),
            }, 4, (i, reply) => { handed.Add((i, reply)); return Task.CompletedTask; }, CancellationToken.None);
            Assert.Equal(1, delivered);
            Assert.Equal(new[] { (0, "0102") }, handed);
            Assert.Equal(new[] { "m1000,2", "m1002,2" }, peer.Received);
            Assert.Null(peer.Failure);
        }

        [Fact]
        public void Read_lengths_are_the_dialects_limit_on_a_stream_and_never_repeat_a_recent_one_on_raw_udp()
        {
            using RemoteSession stream = RemoteSession.Create(new ScriptedPeer(Array.Empty<(string, string?)>()), Options(), new ClientStatistics());
            using RemoteSession lossy = RemoteSession.Create(new SimulatedKgdbStub(new FaultPolicy(1), new byte[16], calls: 0), Options(), new ClientStatistics());
            Assert.Equal(new[] { 511, 511, 511, 100 }, new[] { stream.NextReadLength(5000, 511), stream.NextReadLength(4489, 511), stream.NextReadLength(3978, 511), stream.NextReadLength(100, 511) });
            Assert.True(lossy.ShouldPipelineRead(512, 511, 2));
            Assert.False(lossy.ShouldPipelineRead(511, 511, 8));
            Assert.False(lossy.ShouldPipelineRead(1 << 20, 511, 1));
            var lengths = Enumerable.Range(0, 64).Select(_ => lossy.NextReadLength(1 << 20, 511)).ToList();
            for (int i = 0; i < lengths.Count; i++)
            {
                Assert.InRange(lengths[i], 1, 511);
                for (int j = Math.Max(0, i - 31); j < i; j++) Assert.NotEqual(lengths[j], lengths[i]);
            }
        }
    }
}
