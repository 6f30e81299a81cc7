using System.Collections.Generic;

namespace KgdbOe.Wire
{
    /// <summary>Which byte ranges [start, end) of a read have arrived; merged, in order.</summary>
    internal sealed class IntervalSet
    {
        private readonly List<(int Start, int End)> _ranges = new List<(int, int)>();

        public void Add(int start, int end)
        {
            if (end <= start) return;
            int i = 0;
            while (i < _ranges.Count && _ranges[i].End < start) i++;
            int s = start, e = end;
            while (i < _ranges.Count && _ranges[i].Start <= e)
            {
                if (_ranges[i].Start < s) s = _ranges[i].Start;
                if (_ranges[i].End > e) e = _ranges[i].End;
                _ranges.RemoveAt(i);
            }
            _ranges.Insert(i, (s, e));
        }

        /// <summary>True when [0, end) has arrived whole.</summary>
        public bool Covers(int end) => end <= 0 || (_ranges.Count > 0 && _ranges[0].Start == 0 && _ranges[0].End >= end);

        /// <summary>The holes in [0, end).</summary>
        public IEnumerable<(int Start, int End)> Gaps(int end)
        {
            int at = 0;
            foreach ((int s, int e) in _ranges)
            {
                if (s >= end) break;
                if (s > at) yield return (at, s);
                if (e > at) at = e;
            }
            if (at < end) yield return (at, end);
        }
    }
}
