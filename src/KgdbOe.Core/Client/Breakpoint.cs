using System.Globalization;
using System.Threading;

namespace KgdbOe.Client
{
    /// <summary>A breakpoint or watchpoint planted by this client.</summary>
    public sealed class Breakpoint
    {
        private long _hitCount;

        public Breakpoint(int id, BreakpointKind kind, ulong address, int length)
        {
            Id = id;
            Kind = kind;
            Address = address;
            Length = length;
        }

        public int Id { get; }
        public BreakpointKind Kind { get; }
        public ulong Address { get; }
        public int Length { get; }
        public long HitCount => Interlocked.Read(ref _hitCount);

        internal void CountHit() => Interlocked.Increment(ref _hitCount);

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "#{0} {1} 0x{2:x} len {3} hits {4}", Id, Kind, Address, Length, HitCount);
    }
}
