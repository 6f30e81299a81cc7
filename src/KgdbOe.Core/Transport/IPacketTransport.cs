using System;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Transport
{
    /// <summary>
    /// Bytes to and from one target. Received bytes are pushed to the handler given to Start, in arrival
    /// order, from one background reader; a datagram transport hands over each datagram whole.
    /// </summary>
    internal interface IPacketTransport : IDisposable
    {
        /// <summary>
        /// True when the transport itself loses, duplicates or reorders nothing (TCP, the keyed v2 wire).
        /// Read once, by RemoteSession.Create, to choose the conversation; nothing else asks.
        /// </summary>
        bool IsReliable { get; }

        string Description { get; }

        Task ConnectAsync(TimeSpan timeout, CancellationToken ct);

        /// <summary>Starts the background reader. onClosed gets the reason when the transport ends.</summary>
        void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed);

        Task SendAsync(byte[] data, CancellationToken ct);
    }
}
