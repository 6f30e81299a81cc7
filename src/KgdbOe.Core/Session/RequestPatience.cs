using System;

namespace KgdbOe.Session
{
    /// <summary>
    /// When a request on a lossy link is given up. Silence ends it: MaxAttempts copies sent in a row with not
    /// even a '-' from the stub between them (it is gone, or runs). A '-' proves the stub reads, though not
    /// that it read our packet: a stopped stub behind a backlog of malformed datagrams from our own address
    /// rejects them one by one before it reaches ours (the lab's TCG guest, after a flood of 2,000 junk
    /// datagrams, sent '-' every 2-5 s for 52 s and then answered). So a '-' starts the silence count
    /// again, and rejection alone ends a request only when every copy we sent was rejected (then our
    /// packet itself is bad), or when <see cref="SessionOptions.BusyLimit"/> has passed since the first
    /// copy. gdb resends on every '-' and never gives up for it (remote.c, putpkt_binary).
    /// Not thread-safe: one request's loop owns it.
    /// </summary>
    internal sealed class RequestPatience
    {
        private readonly int _maxAttempts;
        private readonly TimeSpan _giveUpAt;
        private int _quietCopies;

        /// <summary>Starts counting with the first copy of the request, sent at firstCopyAt.</summary>
        /// <param name="maxAttempts">Copies in a row without a word from the stub before the request fails.</param>
        /// <param name="firstCopyAt">Session clock time of the first copy.</param>
        /// <param name="busyLimit">How long a stub that keeps rejecting other bytes is waited for.</param>
        public RequestPatience(int maxAttempts, TimeSpan firstCopyAt, TimeSpan busyLimit)
        {
            _maxAttempts = maxAttempts;
            _giveUpAt = firstCopyAt + busyLimit;
            Sent(firstCopyAt);
        }

        /// <summary>Copies of the request sent so far.</summary>
        public int Copies { get; private set; }

        /// <summary>Session clock time of the latest copy.</summary>
        public TimeSpan LastCopyAt { get; private set; }

        /// <summary>'-' received while the request was out.</summary>
        public int Rejections { get; private set; }

        /// <summary>Counts a copy sent at now (the session clock).</summary>
        public void Sent(TimeSpan now)
        {
            Copies++;
            _quietCopies++;
            LastCopyAt = now;
        }

        /// <summary>Counts a '-': the stub is alive and reading.</summary>
        public void Rejected()
        {
            Rejections++;
            _quietCopies = 0;
        }

        /// <summary>MaxAttempts copies went out since the stub last said anything.</summary>
        public bool SilentTooLong => _quietCopies >= _maxAttempts;

        /// <summary>At least MaxAttempts '-' and no more copies than that: each one of ours was rejected.</summary>
        public bool AlwaysRejected => Rejections >= _maxAttempts && Rejections >= Copies;

        /// <summary>The busy limit has passed (now: the session clock).</summary>
        public bool BusyTooLong(TimeSpan now) => now >= _giveUpAt;
    }
}
