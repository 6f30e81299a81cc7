using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Kernel;
using KgdbOe.Symbols;
using KgdbOe.Types;

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

        // The CPU of the stop it was last asked for (reading it costs a round trip: once a stop).
        private readonly object _stopCpuGate = new object(); // guards _stopCpuFor and _stopCpu, and one read at a time
        private StopEvent? _stopCpuFor;
        private int? _stopCpu;

        // Module symbols: read from the target's module list while it is stopped, kept until an address in module
        // space misses them on a later stop (or a module-load hook says a module came).
        private const ulong ModuleSpace = 0xffffffffa0000000;
        private readonly object _modulesLock = new object(); // guards _modules, _modulesReadAt, _moduleBreakpoints
        private ModuleSymbolTable _modules = ModuleSymbolTable.Empty;
        private StopEvent? _modulesReadAt;
        private ModuleBreakpoints? _moduleBreakpoints;

        private readonly object _typesLock = new object(); // guards _types: the one load of the BTF this session shares
        private Task<KernelBtfLoad>? _types;
        private string[]? _sortedTypeNames;

        internal KernelTargetSession(string name, KernelDebugClient client, SymbolTable? symbols, string? symbolSource,
            string? kaslrMethod, IDisposable? trafficLog, string? btfPath = null)
        {
            _trafficLog = trafficLog;
            BtfPath = btfPath;
            Name = name;
            Client = client;
            Symbols = symbols;
            SymbolSource = symbolSource;
            KaslrMethod = kaslrMethod;
            ConnectedAt = DateTime.Now;
            HardwareBreakpoints = client.Kind == TargetKind.Kgdb ? HardwareBreakpointSupport.Unknown : HardwareBreakpointSupport.Reported;
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

        /// <summary>Where the symbols came from: a System.map or vmlinux path, or "kallsyms".</summary>
        public string? SymbolSource { get; }

        /// <summary>Bytes the kernel image moved from its link address (0 without symbols).</summary>
        public long KaslrSlide => Symbols?.Slide ?? 0;

        /// <summary>How the slide was found (null: assumed 0, not detected).</summary>
        public string? KaslrMethod { get; }

        /// <summary>Run-time address of _text, where the kernel image starts; null without symbols.</summary>
        public ulong? KernelBase => Symbols != null && Symbols.TryGetAddress("_text", out ulong text) ? text : (ulong?)null;

        /// <summary>The BTF file given with Connect-KernelTarget -BtfPath, or null (then the target's own BTF is read).</summary>
        public string? BtfPath { get; }

        /// <summary>Where the session's types came from ("4360537 bytes of BTF from the target's memory in 2.10 s"); null until loaded.</summary>
        public string? TypeSource
        {
            get
            {
                Task<KernelBtfLoad>? types;
                lock (_typesLock) types = _types;
                return types != null && types.Status == TaskStatus.RanToCompletion ? types.Result.ToString() : null;
            }
        }

        /// <summary>
        /// Whether the kernel reports hits of hardware breakpoints and watchpoints: Unknown until the first
        /// one of a KGDB session is set (Set-KernelBreakpoint checks then, see HardwareBreakpointProbe);
        /// always Reported for QEMU's gdbstub.
        /// </summary>
        public HardwareBreakpointSupport HardwareBreakpoints { get; internal set; }

        public KernelStop? LastStop => Client.LastStop is StopEvent stop ? new KernelStop(this, stop) : null;
        public ClientStatistics Statistics => Client.Statistics;

        /// <summary>"name+0x1f" for an address inside the kernel's symbols, "name+0x1f [module]" inside a loaded module's, else null.</summary>
        public string? Describe(ulong address) => Locate(address)?.ToString();

        /// <summary>The symbol and offset of an address: vmlinux's, else a loaded module's (see <see cref="ModuleSymbols"/>); null when none.</summary>
        public SymbolLocation? Locate(ulong address)
        {
            if (Symbols == null || address < KernelHalf) return null;
            SymbolLocation? location = Symbols.Lookup(address);
            if (location != null && location.Offset < MaxDescribedOffset) return location;
            return address >= ModuleSpace ? LookupModule(address) : null;
        }

        /// <summary>The loaded modules' symbols as last read (empty before the first read).</summary>
        public ModuleSymbolTable ModuleSymbols { get { lock (_modulesLock) return _modules; } }

        private SymbolLocation? LookupModule(ulong address)
        {
            ModuleSymbolTable table = ModuleSymbols;
            SymbolLocation? found = table.Lookup(address);
            if (found != null) return found;
            // A miss: read the list again, once a stop (a module may have come since).
            StopEvent? stop = Client.LastStop;
            lock (_modulesLock) if (ReferenceEquals(_modulesReadAt, stop)) return null;
            return RefreshModuleSymbols(CancellationToken.None)?.Lookup(address);
        }

        /// <summary>
        /// Reads the loaded modules' symbols from the stopped target (types from BTF); null when that cannot be done now
        /// (running, no symbols or no BTF): then the last table stays.
        /// </summary>
        internal ModuleSymbolTable? RefreshModuleSymbols(CancellationToken ct)
        {
            StopEvent? stop = Client.LastStop;
            if (IsClosed || Client.State != TargetState.Stopped || Symbols == null) return null;
            try
            {
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(30));
                    Kernel.KernelContext context = GetKernelContextAsync(timeout.Token).GetAwaiter().GetResult();
                    ModuleSymbolTable table = ModuleSymbolTable.ReadAsync(context, timeout.Token).GetAwaiter().GetResult();
                    lock (_modulesLock) { _modules = table; _modulesReadAt = stop; }
                    return table;
                }
            }
            catch (Exception e) when (e is GdbRemoteException || e is Kernel.KernelObjectException || e is KgdbOeErrorException ||
                                      e is OperationCanceledException || e is InvalidOperationException || e is KeyNotFoundException)
            {
                lock (_modulesLock) _modulesReadAt = stop;
                return null;
            }
        }

        /// <summary>A loaded module's symbol by name (module null: any module), reading the module list when it is not known yet.</summary>
        internal ModuleSymbol? FindModuleSymbol(string name, string? module)
        {
            if (ModuleSymbols.TryGetSymbol(name, module, out ModuleSymbol s)) return s;
            ModuleSymbolTable? fresh = RefreshModuleSymbols(CancellationToken.None);
            return fresh != null && fresh.TryGetSymbol(name, module, out s) ? s : null;
        }

        /// <summary>The kernel's types, memory and symbols as the Kernel helpers take them.</summary>
        internal async Task<Kernel.KernelContext> GetKernelContextAsync(CancellationToken ct) =>
            new Kernel.KernelContext(await GetTypesAsync(ct).ConfigureAwait(false), new Kernel.ClientKernelMemory(Client), Symbols);

        /// <summary>Breakpoints in modules by name, loaded or pending (one per session).</summary>
        internal ModuleBreakpoints ModuleBreakpoints
        {
            get
            {
                lock (_modulesLock)
                {
                    if (_moduleBreakpoints == null)
                    {
                        _moduleBreakpoints = new ModuleBreakpoints(Client, GetKernelContextAsync);
                        // A module just loaded: its symbols join the table (the hook runs with the kernel stopped).
                        _moduleBreakpoints.ModuleLoaded += loaded =>
                        {
                            lock (_modulesLock)
                                _modules = new ModuleSymbolTable(_modules.Modules.Where(m => m.Module != loaded.Module).Concat(new[] { loaded }));
                        };
                    }
                    return _moduleBreakpoints;
                }
            }
        }

        /// <summary>
        /// The CPU a stop happened on. QEMU names the vCPU in the stop reply, and KGDB a CPU's shadow
        /// thread when that CPU was idle; but a KGDB stop in a task names the task's pid only
        /// (kernel/debug/gdbstub.c: thread:shadow_pid(current->pid)), and no packet maps a task to
        /// its CPU. The kernel keeps the CPU that runs the stub in kgdb_active
        /// (kernel/debug/debug_core.c), so with symbols that is one 4-byte read, made once a stop and
        /// only while this stop is the current one. Null when unknown.
        /// </summary>
        internal int? CpuOf(StopEvent stop)
        {
            if (stop.Cpu != null) return stop.Cpu;
            if (Kind != TargetKind.Kgdb || Symbols == null || !Symbols.TryGetAddress("kgdb_active", out ulong address)) return null;
            lock (_stopCpuGate)
            {
                if (ReferenceEquals(_stopCpuFor, stop)) return _stopCpu;
                if (IsClosed || Client.State != TargetState.Stopped || !ReferenceEquals(Client.LastStop, stop)) return null;
                int? cpu = null;
                try
                {
                    using (var timeout = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(5)))
                    {
                        byte[] bytes = Client.ReadMemoryAsync(address, 4, null, timeout.Token).GetAwaiter().GetResult();
                        int active = BitConverter.ToInt32(bytes, 0); // atomic_t: -1 when nobody is in the debugger
                        if (active >= 0) cpu = active;
                    }
                }
                catch (Exception e) when (e is GdbRemoteException || e is OperationCanceledException || e is InvalidOperationException)
                {
                    // Unknown then: the view leaves the CPU out.
                }
                _stopCpuFor = stop;
                _stopCpu = cpu;
                return cpu;
            }
        }

        /// <summary>Symbol names in ordinal order, built once, for tab completion.</summary>
        internal string[] SortedSymbolNames =>
            _sortedNames ??= Symbols == null ? Array.Empty<string>() : Symbols.Names.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        /// <summary>
        /// The kernel's types, loaded once per session: from <see cref="BtfPath"/> when given, else from the target's memory
        /// between __start_BTF and __stop_BTF (the kernel must be stopped for the first load), cached on disk under
        /// ~/.cache/kgdboe/btf by the SHA-256 of linux_banner so the next connect to the same kernel reads nothing.
        /// A failed or cancelled load is tried again on the next call. <paramref name="progress"/> hears (bytes, total) of a
        /// read from the target started by this call. Throws <see cref="KgdbOeErrorException"/>:
        /// KgdbOe.NoBtf (no BTF symbols, no symbols), KgdbOe.BadBtf (corrupt BTF), KgdbOe.FileError, or the read's own error.
        /// </summary>
        internal async Task<BtfTypeGraph> GetTypesAsync(CancellationToken ct, IProgress<(long Done, long Total)>? progress = null)
        {
            Task<KernelBtfLoad> load;
            lock (_typesLock)
            {
                if (_types == null || _types.IsFaulted || _types.IsCanceled) _types = LoadTypesAsync(progress, ct);
                load = _types;
            }
            // A caller's cancellation ends its wait; the load itself was started with the first caller's token.
            var cancelled = new TaskCompletionSource<bool>();
            using (ct.Register(() => cancelled.TrySetCanceled()))
            {
                if (await Task.WhenAny(load, cancelled.Task).ConfigureAwait(false) != load) ct.ThrowIfCancellationRequested();
            }
            return (await load.ConfigureAwait(false)).Graph;
        }

        /// <summary>The synchronous form of <see cref="GetTypesAsync"/>.</summary>
        internal BtfTypeGraph GetTypes(CancellationToken ct) => GetTypesAsync(ct).GetAwaiter().GetResult();

        /// <summary>The loaded types, or null while they are not loaded yet (for completion, which must not read the target).</summary>
        internal BtfTypeGraph? LoadedTypes
        {
            get
            {
                lock (_typesLock) return _types != null && _types.Status == TaskStatus.RanToCompletion ? _types.Result.Graph : null;
            }
        }

        /// <summary>
        /// The type names of the loaded BTF in ordinal order, built once, for tab completion; empty while the types are not
        /// loaded. <paramref name="allowFileLoad"/> loads them first when they come from a -BtfPath file (never the target).
        /// </summary>
        internal string[] SortedTypeNames(bool allowFileLoad)
        {
            BtfTypeGraph? graph = LoadedTypes;
            if (graph == null && allowFileLoad && BtfPath != null)
            {
                try { graph = GetTypes(CancellationToken.None); }
                catch (KgdbOeErrorException) { return Array.Empty<string>(); }
            }
            if (graph == null) return Array.Empty<string>();
            lock (_typesLock) return _sortedTypeNames ??= graph.TypeNames.ToArray();
        }

        private async Task<KernelBtfLoad> LoadTypesAsync(IProgress<(long Done, long Total)>? progress, CancellationToken ct)
        {
            string what = BtfPath ?? "the target's BTF";
            try
            {
                if (BtfPath != null) return KernelBtf.LoadFile(BtfPath);
                if (Symbols == null)
                    throw TypeError(KgdbOeErrorId.NoBtf, ErrorCategory.ObjectNotFound, this,
                        $"The session '{Name}' has no symbols, so the kernel's BTF (__start_BTF..__stop_BTF) cannot be found: connect with -Vmlinux, -SystemMap or -Kallsyms, or give -BtfPath.");
                KernelBtfLoad? load = await KernelBtf.LoadFromTargetAsync(Client, Symbols, KernelBtf.DefaultCacheDirectory, progress, ct).ConfigureAwait(false);
                return load ?? throw TypeError(KgdbOeErrorId.NoBtf, ErrorCategory.ObjectNotFound, this,
                    $"The kernel of session '{Name}' has no BTF (no __start_BTF/__stop_BTF symbols: built without CONFIG_DEBUG_INFO_BTF). Give a BTF file with Connect-KernelTarget -BtfPath.");
            }
            catch (BtfFormatException e)
            {
                throw TypeError(KgdbOeErrorId.BadBtf, ErrorCategory.InvalidData, what, $"The BTF of {what} cannot be read: {e.Message}", e);
            }
            catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
            {
                throw TypeError(KgdbOeErrorId.FileError, ErrorCategory.ReadError, what, $"Cannot read {what}: {e.Message}", e);
            }
        }

        private static KgdbOeErrorException TypeError(string id, ErrorCategory category, object target, string message, Exception? inner = null)
        {
            Exception exception = category == ErrorCategory.ObjectNotFound ? new ItemNotFoundException(message, inner) : new InvalidOperationException(message, inner);
            return new KgdbOeErrorException(new ErrorRecord(exception, id, category, target));
        }

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

        /// <summary>"name (Kgdb udp:127.0.0.1:31337)", or "udp:... (Kgdb)" when the name is the endpoint.</summary>
        public override string ToString() => Name == Endpoint ? $"{Name} ({Kind})" : $"{Name} ({Kind} {Endpoint})";
    }
}
