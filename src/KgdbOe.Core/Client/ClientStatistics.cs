using System.Threading;

namespace KgdbOe.Client
{
    /// <summary>Counters of one client's traffic; safe to read while the client works.</summary>
    public sealed class ClientStatistics
    {
        private long _requests, _retransmissions, _timeouts, _duplicatesDropped, _bytesRead, _bytesWritten, _packetsSent, _packetsReceived, _fences;

        public long Requests => Interlocked.Read(ref _requests);
        public long Retransmissions => Interlocked.Read(ref _retransmissions);
        public long Timeouts => Interlocked.Read(ref _timeouts);
        public long DuplicatesDropped => Interlocked.Read(ref _duplicatesDropped);
        /// <summary>Target memory bytes read.</summary>
        public long BytesRead => Interlocked.Read(ref _bytesRead);
        /// <summary>Target memory bytes written.</summary>
        public long BytesWritten => Interlocked.Read(ref _bytesWritten);
        public long PacketsSent => Interlocked.Read(ref _packetsSent);
        public long PacketsReceived => Interlocked.Read(ref _packetsReceived);
        /// <summary>qC requests sent so that a late copy of a nudged or resent reply could not pass for the next answer.</summary>
        public long Fences => Interlocked.Read(ref _fences);

        internal void AddRequest() => Interlocked.Increment(ref _requests);
        internal void AddRetransmission() => Interlocked.Increment(ref _retransmissions);
        internal void AddTimeout() => Interlocked.Increment(ref _timeouts);
        internal void AddDuplicateDropped() => Interlocked.Increment(ref _duplicatesDropped);
        internal void AddBytesRead(long n) => Interlocked.Add(ref _bytesRead, n);
        internal void AddBytesWritten(long n) => Interlocked.Add(ref _bytesWritten, n);
        internal void AddPacketSent() => Interlocked.Increment(ref _packetsSent);
        internal void AddPacketReceived() => Interlocked.Increment(ref _packetsReceived);
        internal void AddFence() => Interlocked.Increment(ref _fences);

        public override string ToString() =>
            $"Requests={Requests} Retransmissions={Retransmissions} Timeouts={Timeouts} DuplicatesDropped={DuplicatesDropped} Fences={Fences} BytesRead={BytesRead} BytesWritten={BytesWritten}";
    }
}
