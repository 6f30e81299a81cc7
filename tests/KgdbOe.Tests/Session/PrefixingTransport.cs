using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Transport;

namespace KgdbOe.Tests.Session
{
    /// <summary>
    /// Puts fixed bytes in front of every datagram the client sends, to inject a fault the real wire cannot
    /// produce on demand (a "$x" in front: the stub reads our packet as the end of another and rejects it).
    /// </summary>
    internal sealed class PrefixingTransport : IPacketTransport
    {
        private readonly IPacketTransport _inner;
        private readonly byte[] _prefix;

        public PrefixingTransport(IPacketTransport inner, string prefix)
        {
            _inner = inner;
            _prefix = Encoding.ASCII.GetBytes(prefix);
        }

        public bool IsReliable => _inner.IsReliable;
        public string Description => _inner.Description;
        public Task ConnectAsync(TimeSpan timeout, CancellationToken ct) => _inner.ConnectAsync(timeout, ct);
        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed) => _inner.Start(onReceived, onClosed);

        public Task SendAsync(byte[] data, CancellationToken ct)
        {
            var framed = new byte[_prefix.Length + data.Length];
            _prefix.CopyTo(framed, 0);
            data.CopyTo(framed, _prefix.Length);
            return _inner.SendAsync(framed, ct);
        }

        public void Dispose() => _inner.Dispose();
    }
}
