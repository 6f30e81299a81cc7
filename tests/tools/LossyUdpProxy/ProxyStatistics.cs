using System.Threading;

namespace KgdbOe.Tools.LossyUdpProxy
{
    /// <summary>Counts per direction; "up" is client to target, "down" target to client.</summary>
    public sealed class ProxyStatistics
    {
        public long UpReceived, UpDropped, UpDuplicated, UpReordered;
        public long DownReceived, DownDropped, DownDuplicated, DownReordered;

        internal static void Add(ref long counter) => Interlocked.Increment(ref counter);

        public override string ToString() =>
            $"up: {UpReceived} received, {UpDropped} dropped, {UpDuplicated} duplicated, {UpReordered} reordered; " +
            $"down: {DownReceived} received, {DownDropped} dropped, {DownDuplicated} duplicated, {DownReordered} reordered";
    }
}
