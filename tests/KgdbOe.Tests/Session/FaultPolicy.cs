using System;
using System.Collections.Generic;

namespace KgdbOe.Tests.Session
{
    /// <summary>Decides, per datagram, how often and how late it arrives: never, once, or twice.</summary>
    internal sealed class FaultPolicy
    {
        private readonly Random _random;
        private readonly object _gate = new object();

        public FaultPolicy(int seed, double loss = 0, double duplicate = 0, int maxDelayMs = 0)
        {
            _random = new Random(seed);
            Loss = loss;
            Duplicate = duplicate;
            MaxDelayMs = maxDelayMs;
        }

        public double Loss { get; }
        public double Duplicate { get; }
        public int MaxDelayMs { get; }

        /// <summary>Scripted faults win over chance: return null to let chance decide.</summary>
        public Func<bool, string, int[]?>? Script { get; set; }

        public int Dropped, Duplicated;

        /// <summary>Delays in ms, one per copy delivered (empty: lost). toStub tells the direction.</summary>
        public int[] Decide(bool toStub, string datagram)
        {
            int[]? scripted = Script?.Invoke(toStub, datagram);
            if (scripted != null) return scripted;
            lock (_gate)
            {
                if (_random.NextDouble() < Loss) { Dropped++; return Array.Empty<int>(); }
                var delays = new List<int> { MaxDelayMs == 0 ? 0 : _random.Next(MaxDelayMs + 1) };
                if (_random.NextDouble() < Duplicate) { Duplicated++; delays.Add(MaxDelayMs == 0 ? 0 : _random.Next(MaxDelayMs + 1)); }
                return delays.ToArray();
            }
        }
    }
}
