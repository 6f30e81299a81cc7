using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;
using KgdbOe.Transport;

namespace KgdbOe.Tests.Session
{
    /// <summary>
    /// A reliable peer that plays a fixed exchange: each packet the client sends must match the next
    /// expected pattern, and gets the scripted reply (null: only the ack, as for c and s; the reply then
    /// comes as the next entry's "Then").
    /// </summary>
    internal sealed class ScriptedPeer : IPacketTransport
    {
        private readonly Queue<(string Pattern, string? Reply)> _script;
        private readonly PacketDecoder _decoder = new PacketDecoder();
        private Action<ArraySegment<byte>>? _deliver;

        public ScriptedPeer(IEnumerable<(string Pattern, string? Reply)> script)
        {
            _script = new Queue<(string, string?)>(script);
        }

        public List<string> Received { get; } = new List<string>();
        public string? Failure { get; private set; }
        public int Remaining => _script.Count;

        public bool IsReliable => true;
        public string Description => "scripted peer";
        public Task ConnectAsync(TimeSpan timeout, CancellationToken ct) => Task.CompletedTask;
        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed) => _deliver = onReceived;

        public Task SendAsync(byte[] data, CancellationToken ct)
        {
            foreach (WireEvent e in _decoder.Feed(data))
            {
                if (e.Kind != WireEventKind.Packet) continue;
                string packet = e.PayloadText;
                Received.Add(packet);
                if (_script.Count == 0) { Failure ??= $"unexpected '{packet}' after the script ended"; continue; }
                var (pattern, reply) = _script.Dequeue();
                if (!Regex.IsMatch(packet, "^" + pattern + "$")) { Failure ??= $"expected /{pattern}/ but the client sent '{packet}'"; continue; }
                Reply("+");
                if (reply != null) Reply(Encoding.ASCII.GetString(PacketEncoder.Encode(reply)));
            }
            return Task.CompletedTask;
        }

        /// <summary>More expected exchanges, for what follows an event the test triggers.</summary>
        public void Expect(params (string Pattern, string? Reply)[] more)
        {
            foreach (var m in more) _script.Enqueue(m);
        }

        /// <summary>A packet from the target nobody asked for (a stop reply after c).</summary>
        public void SendUnprompted(string payload) => Reply(Encoding.ASCII.GetString(PacketEncoder.Encode(payload)));

        private void Reply(string text)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(text);
            ThreadPool.QueueUserWorkItem(_ => _deliver?.Invoke(new ArraySegment<byte>(bytes)));
        }

        public void Dispose() { }
    }
}
