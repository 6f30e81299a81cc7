using System;
using System.IO;

namespace KgdbOe.Session
{
    /// <summary>Timing and logging for one conversation; copied from ConnectOptions.</summary>
    internal sealed class SessionOptions
    {
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMilliseconds(500);
        public int MaxAttempts { get; set; } = 12;

        /// <summary>Lossy conversation only: how long a request is waited for while the stub keeps sending '-' (see RequestPatience).</summary>
        public TimeSpan BusyLimit { get; set; } = TimeSpan.FromMinutes(2);
        public TextWriter? TrafficLog { get; set; }
        /// <summary>
        /// Lossy conversation only. Once the link has delivered a duplicate, how long after an "OK" reply another request whose answer
        /// is also "OK" waits, so a duplicated "OK" still in flight cannot be taken as its answer.
        /// </summary>
        public TimeSpan OkQuarantine { get; set; } = TimeSpan.FromMilliseconds(8);

        /// <summary>Lossy conversation only. After this long without a request, the stub may send its last (unacked) reply again: fence first.</summary>
        public TimeSpan IdleBeforeFence { get; set; } = TimeSpan.FromSeconds(1);
    }
}
