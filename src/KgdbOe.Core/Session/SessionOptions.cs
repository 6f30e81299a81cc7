using System;
using System.IO;

namespace KgdbOe.Session
{
    /// <summary>Timing and logging for one conversation; copied from ConnectOptions.</summary>
    internal sealed class SessionOptions
    {
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMilliseconds(500);
        public int MaxAttempts { get; set; } = 12;
        public TextWriter? TrafficLog { get; set; }
        /// <summary>
        /// On a lossy link, how long after an "OK" reply another request whose answer is also "OK" waits,
        /// so a duplicated "OK" still in flight cannot be taken as its answer.
        /// </summary>
        public TimeSpan OkQuarantine { get; set; } = TimeSpan.FromMilliseconds(8);
    }
}
