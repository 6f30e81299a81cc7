using System;

namespace KgdbOe.Session
{
    /// <summary>
    /// The retransmission timeout of a lossy link, as TCP computes it (RFC 6298): smoothed round trip plus
    /// four deviations, never above the configured RequestTimeout (the ceiling and the starting value) and
    /// never below a floor that keeps a slow stub from being flooded. Each timeout doubles the wait, and the
    /// doubled wait holds for later requests until a clean sample (Karn): a stub that has become slow (a
    /// loaded TCG guest) is then not nudged on every request, which would only make it answer twice.
    /// </summary>
    internal sealed class RoundTripEstimator
    {
        private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(40);
        private readonly TimeSpan _ceiling;
        private double _srttMs = -1, _rttVarMs;

        public RoundTripEstimator(TimeSpan ceiling)
        {
            _ceiling = ceiling;
            Timeout = ceiling;
        }

        public TimeSpan Timeout { get; private set; }

        public void Sample(TimeSpan rtt)
        {
            double r = rtt.TotalMilliseconds;
            if (_srttMs < 0) { _srttMs = r; _rttVarMs = r / 2; }
            else
            {
                _rttVarMs = 0.75 * _rttVarMs + 0.25 * Math.Abs(_srttMs - r);
                _srttMs = 0.875 * _srttMs + 0.125 * r;
            }
            Timeout = Clamp(TimeSpan.FromMilliseconds(_srttMs + Math.Max(4 * _rttVarMs, 10)));
        }

        public TimeSpan TimedOut()
        {
            Timeout = Clamp(TimeSpan.FromTicks(Timeout.Ticks * 2));
            return Timeout;
        }

        private TimeSpan Clamp(TimeSpan t) => t < Floor ? (Floor < _ceiling ? Floor : _ceiling) : t > _ceiling ? _ceiling : t;
    }
}
