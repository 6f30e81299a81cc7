using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Client
{
    /// <summary>
    /// A breakpoint or watchpoint planted by this client, or a pending one: a function of a module that is not
    /// loaded yet (<see cref="IsPending"/>, <see cref="Address"/> 0), planted when the module loads.
    /// </summary>
    public sealed class Breakpoint
    {
        private long _hitCount;
        private long _address;

        public Breakpoint(int id, BreakpointKind kind, ulong address, int length)
        {
            Id = id;
            Kind = kind;
            _address = unchecked((long)address);
            Length = length;
        }

        internal Breakpoint(int id, BreakpointKind kind, string module, string symbol)
            : this(id, kind, 0, 1)
        {
            Module = module;
            Symbol = symbol;
        }

        public int Id { get; }
        public BreakpointKind Kind { get; }

        /// <summary>Where it is planted; 0 while pending.</summary>
        public ulong Address => unchecked((ulong)Interlocked.Read(ref _address));
        public int Length { get; }
        public long HitCount => Interlocked.Read(ref _hitCount);

        /// <summary>The module whose function it names (set for a breakpoint made by module and symbol).</summary>
        public string? Module { get; }

        /// <summary>The function it names, when made by module and symbol.</summary>
        public string? Symbol { get; }

        /// <summary>True while its module is not loaded: nothing is planted yet.</summary>
        public bool IsPending => Address == 0;

        /// <summary>Why planting it when its module loaded failed (the symbol was not in the module); null otherwise.</summary>
        public string? PlantError { get; internal set; }

        /// <summary>The client's own breakpoint (the module-load hook): never listed, its stops never returned.</summary>
        internal bool IsInternal => OnHit != null;

        /// <summary>For internal breakpoints: runs at each hit while the target is stopped; true resumes at once.</summary>
        internal Func<StopEvent, CancellationToken, Task<bool>>? OnHit { get; set; }

        internal void CountHit() => Interlocked.Increment(ref _hitCount);

        internal void Plant(ulong address) => Interlocked.Exchange(ref _address, unchecked((long)address));

        public override string ToString() =>
            IsPending
                ? string.Format(CultureInfo.InvariantCulture, "#{0} {1} pending {2} [{3}]", Id, Kind, Symbol, Module)
                : string.Format(CultureInfo.InvariantCulture, "#{0} {1} 0x{2:x} len {3} hits {4}", Id, Kind, Address, Length, HitCount);
    }
}
