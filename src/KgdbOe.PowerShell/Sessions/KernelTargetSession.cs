using System;
using System.Collections.Generic;
using System.Linq;
using KgdbOe.Client;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// One connection to one kernel, with the symbols that describe it. Sessions are plain objects:
    /// keep several in variables and pass them with -Target; the newest is the default.
    /// </summary>
    public sealed class KernelTargetSession : IDisposable
    {
        // Values farther than this past a symbol are not shown as symbol+offset: they are data, not code.
        private const ulong MaxDescribedOffset = 0x100000;
        private const ulong KernelHalf = 0xffff800000000000;

        private string[]? _sortedNames;
        private readonly IDisposable? _trafficLog;

        internal KernelTargetSession(string name, KernelDebugClient client, SymbolTable? symbols, string? symbolSource,
            string? kaslrMethod, IDisposable? trafficLog)
        {
            _trafficLog = trafficLog;
            Name = name;
            Client = client;
            Symbols = symbols;
            SymbolSource = symbolSource;
            KaslrMethod = kaslrMethod;
            ConnectedAt = DateTime.Now;
        }

        public string Name { get; }

        /// <summary>The protocol client, for scripts that need what no cmdlet offers.</summary>
        public KernelDebugClient Client { get; }

        public string Endpoint => Client.Endpoint.ToString();
        public TargetKind Kind => Client.Kind;
        public TargetState State => IsClosed ? TargetState.Detached : Client.State;
        public bool IsClosed { get; private set; }
        public DateTime ConnectedAt { get; }

        /// <summary>Symbols already moved by the KASLR slide: addresses are run-time addresses.</summary>
        public SymbolTable? Symbols { get; }
        public string? SymbolSource { get; }
        public long KaslrSlide => Symbols?.Slide ?? 0;
        public string? KaslrMethod { get; }

        public KernelStop? LastStop => Client.LastStop is StopEvent stop ? new KernelStop(this, stop) : null;
        public ClientStatistics Statistics => Client.Statistics;

        /// <summary>"name+0x1f" for an address inside the kernel's symbols, else null.</summary>
        public string? Describe(ulong address)
        {
            if (Symbols == null || address < KernelHalf) return null;
            SymbolLocation? location = Symbols.Lookup(address);
            return location != null && location.Offset < MaxDescribedOffset ? location.ToString() : null;
        }

        /// <summary>Symbol names in ordinal order, built once, for tab completion.</summary>
        internal string[] SortedSymbolNames =>
            _sortedNames ??= Symbols == null ? Array.Empty<string>() : Symbols.Names.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        /// <summary>
        /// Detaches (best effort, a few seconds at most) so no breakpoint stays planted in a kernel
        /// nobody watches any more, then closes the connection.
        /// </summary>
        internal void Close()
        {
            if (IsClosed) return;
            try
            {
                using (var timeout = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(3)))
                    Client.DetachAsync(timeout.Token).GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                // Unreachable or already gone: closing is all that is left to do.
            }
            Dispose();
        }

        public void Dispose()
        {
            IsClosed = true;
            Client.Dispose();
            _trafficLog?.Dispose();
        }

        public override string ToString() => Name;
    }
}
