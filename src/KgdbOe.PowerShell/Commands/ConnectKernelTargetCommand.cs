using System;
using System.IO;
using System.Management.Automation;
using KgdbOe.Client;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Connects to a kernel's debug stub (kgdboe over UDP, or QEMU's gdbstub over TCP), breaks in,
    /// loads its symbols and finds the KASLR slide. Takes the object Install-KgdboeModule returns
    /// from the pipeline. The new session becomes the default target of the runspace.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "KernelTarget", DefaultParameterSetName = ByComputerName)]
    [OutputType(typeof(KernelTargetSession))]
    public sealed class ConnectKernelTargetCommand : KgdbOeCmdlet
    {
        private const string ByComputerName = "ComputerName";
        private const string ByEndpoint = "Endpoint";

        /// <summary>"udp:127.0.0.1:31337", "tcp:127.0.0.1:1234" or "host:port" (UDP).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByEndpoint)]
        [ValidateNotNullOrEmpty]
        public string Endpoint { get; set; } = "";

        /// <summary>The host where the stub listens: for kgdboe, the address that reaches the target's UDP port (127.0.0.1 for a lab).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByComputerName, ValueFromPipelineByPropertyName = true)]
        [Alias("HostName", "Host")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = "";

        /// <summary>The port on ComputerName: kgdboe's UDP port (31337 by default) or the gdbstub's TCP port.</summary>
        [Parameter(Position = 1, ParameterSetName = ByComputerName, ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, 65535)]
        public int Port { get; set; } = 31337;

        /// <summary>Udp for kgdboe, Tcp for QEMU's gdbstub or gdbserver.</summary>
        [Parameter(ParameterSetName = ByComputerName, ValueFromPipelineByPropertyName = true)]
        public TransportKind Transport
        {
            get => (TransportKind)_transport;
            set => _transport = (int)value;
        }

        // Stored as int: a field of a KgdbOe.Core value type would make PowerShell load KgdbOe.Core
        // while it scans this assembly, before DependencyLoader can say where it lives.
        private int _transport = (int)TransportKind.Udp;

        /// <summary>The kernel's System.map on this machine.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? SystemMap { get; set; }

        /// <summary>The kernel's vmlinux (ELF with a symbol table) on this machine.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Vmlinux { get; set; }

        /// <summary>The text of /proc/kallsyms, read as root on the target (already run-time addresses).</summary>
        [Parameter]
        public string? Kallsyms { get; set; }

        /// <summary>
        /// The kernel's BTF on this machine (a raw blob such as a copy of /sys/kernel/btf/vmlinux, or a vmlinux with a .BTF
        /// section) for the type cmdlets; when omitted they read the BTF from the target's memory.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? BtfPath { get; set; }

        /// <summary>Use this KASLR slide instead of detecting it.</summary>
        [Parameter]
        public long? KaslrSlide { get; set; }

        /// <summary>The session's name; the endpoint when omitted.</summary>
        [Parameter]
        public string? Name { get; set; }

        /// <summary>Seconds to wait for the stub to answer the first time.</summary>
        [Parameter]
        [ValidateRange(0.1, 3600)]
        public double ConnectTimeout { get; set; } = 10;

        /// <summary>Seconds to wait for each reply before sending the request again.</summary>
        [Parameter]
        [ValidateRange(0.01, 600)]
        public double RequestTimeout { get; set; } = 0.5;

        /// <summary>How often a request is sent in a row, with no word from the target, before it counts as not answering (see ConnectOptions.BusyLimit).</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int MaxAttempts { get; set; } = 12;

        /// <summary>UDP: memory reads in flight at once (1 = one at a time, as gdb does).</summary>
        [Parameter]
        [ValidateRange(1, 32)]
        public int ReadWindow { get; set; } = 8;

        /// <summary>Attach without stopping the kernel (no KASLR detection then).</summary>
        [Parameter]
        public SwitchParameter NoBreakIn { get; set; }

        /// <summary>
        /// The 256-bit key (64 hex digits) of a keyed kgdboe module: the client then speaks the keyed v2
        /// wire. Binds from Install-KgdboeModule's output. When omitted for UDP, the key stored for
        /// ComputerName and Port by Install-KgdboeModule is used; with none, raw UDP.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public System.Security.SecureString? Key { get; set; }

        /// <summary>Append every packet sent and received to this file.</summary>
        [Parameter]
        public string? TrafficLogPath { get; set; }

        protected override void ProcessRecordCore()
        {
            TargetEndpoint endpoint = ParseEndpoint();
            (SymbolTable? symbols, string? source) = LoadSymbols();
            string? btfPath = ResolveBtfPath();

            byte[]? key = ResolveKey(endpoint);
            StreamWriter? trafficLog = TrafficLogPath == null ? null : OpenTrafficLog(TrafficLogPath);
            var options = new ConnectOptions
            {
                ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeout),
                RequestTimeout = TimeSpan.FromSeconds(RequestTimeout),
                MaxAttempts = MaxAttempts,
                ReadWindow = ReadWindow,
                BreakIn = !NoBreakIn,
                TrafficLog = trafficLog,
                Key = key,
            };

            WriteVerbose($"Connecting to {endpoint}.");
            KernelDebugClient client;
            try
            {
                try
                {
                    client = Await(ct => KernelDebugClient.ConnectAsync(endpoint, options, ct));
                }
                finally
                {
                    // The client took its own copy of the key.
                    if (key != null) Array.Clear(key, 0, key.Length);
                    options.Key = null;
                }
            }
            catch (AuthenticationFailedException e)
            {
                trafficLog?.Dispose();
                string message = _keyFromStore == null ? e.Message
                    : e.Message + $" The key came from {_keyFromStore}: remove that file if the module there was reinstalled without a key.";
                throw Fail(KgdbOeErrorId.AuthenticationFailed, ErrorCategory.AuthenticationError, endpoint.ToString(), message, e);
            }
            catch (Exception e) when (!(e is PipelineStoppedException))
            {
                // Refused, unreachable, silent or not a stub at all: to the user it is one failure.
                trafficLog?.Dispose();
                string message = e.Message.Contains(endpoint.ToString()) ? e.Message : $"Cannot connect to {endpoint}: {e.Message}";
                throw Fail(KgdbOeErrorId.ConnectionFailed, ErrorCategory.ConnectionError, endpoint.ToString(), message, e);
            }

            try
            {
                string? method = null;
                if (symbols != null) (symbols, method) = Slide(client, symbols);
                var session = new KernelTargetSession(Name ?? endpoint.ToString(), client, symbols, source, method, trafficLog, btfPath);
                SessionRegistry.Current.Add(session);
                WriteObject(session);
            }
            catch
            {
                client.Dispose();
                trafficLog?.Dispose();
                throw;
            }
        }

        private TargetEndpoint ParseEndpoint()
        {
            try
            {
                return ParameterSetName == ByEndpoint
                    ? TargetEndpoint.Parse(Endpoint)
                    : new TargetEndpoint(Transport, ComputerName, Port);
            }
            catch (Exception e) when (e is FormatException || e is ArgumentException)
            {
                throw Fail(KgdbOeErrorId.BadEndpoint, ErrorCategory.InvalidArgument,
                    ParameterSetName == ByEndpoint ? Endpoint : ComputerName, e.Message, e);
            }
        }

        private string? _keyFromStore;

        /// <summary>-Key, else the key stored for this endpoint (UDP only); null: raw UDP.</summary>
        private byte[]? ResolveKey(TargetEndpoint endpoint)
        {
            if (endpoint.Transport != TransportKind.Udp)
            {
                if (Key != null && Key.Length > 0)
                    throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, endpoint.ToString(),
                        "-Key is for kgdboe's UDP port (the keyed v2 wire), not a TCP stub.");
                return null;
            }
            System.Security.SecureString? secret = Key != null && Key.Length > 0 ? Key : null;
            if (secret == null)
            {
                try { secret = Deployment.KgdboeKeyStore.Load(endpoint.Host, endpoint.Port); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    WriteWarning($"The stored key for {endpoint} could not be read ({e.Message}); connecting without a key.");
                }
                if (secret != null)
                {
                    _keyFromStore = Deployment.KgdboeKeyStore.PathFor(endpoint.Host, endpoint.Port);
                    WriteVerbose($"Using the key stored in {_keyFromStore}.");
                }
            }
            if (secret == null) return null;
            return Deployment.KgdboeKeyStore.ToKeyBytes(secret)
                ?? throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, endpoint.ToString(),
                    "The key is not 64 hex digits (a 256-bit kgdboe key).");
        }

        private (SymbolTable?, string?) LoadSymbols()
        {
            // PowerShell binds a piped $null to a string parameter as "": both mean "not given".
            string? systemMap = string.IsNullOrEmpty(SystemMap) ? null : SystemMap;
            string? vmlinux = string.IsNullOrEmpty(Vmlinux) ? null : Vmlinux;
            int given = (systemMap != null ? 1 : 0) + (vmlinux != null ? 1 : 0) + (Kallsyms != null ? 1 : 0);
            if (given > 1)
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, null,
                    "Give one symbol source: -SystemMap, -Vmlinux or -Kallsyms.");

            string? path = null;
            try
            {
                if (Kallsyms != null) return (SymbolTable.FromKallsyms(Kallsyms), "kallsyms");
                if (systemMap != null) return (SymbolTable.FromSystemMap(path = ResolveFilePath(systemMap)), path);
                if (vmlinux != null) return (SymbolTable.FromElf(path = ResolveFilePath(vmlinux)), path);
                return (null, null);
            }
            catch (Exception e) when (!(e is PipelineStoppedException) && !(e is KgdbOeErrorException))
            {
                throw Fail(KgdbOeErrorId.SymbolLoadFailed, ErrorCategory.ReadError, path ?? "kallsyms",
                    $"Cannot load symbols from {path ?? "the kallsyms text"}: {e.Message}", e);
            }
        }

        // The file is read when types are first needed; a wrong path is said now, before connecting.
        private string? ResolveBtfPath()
        {
            if (string.IsNullOrEmpty(BtfPath)) return null;
            string path = ResolveFilePath(BtfPath!);
            if (!File.Exists(path))
                throw Fail(KgdbOeErrorId.FileError, ErrorCategory.ObjectNotFound, path, $"The BTF file {path} does not exist.");
            return path;
        }

        // The symbols of System.map and vmlinux are link-time addresses; move them to where the kernel runs.
        private (SymbolTable, string?) Slide(KernelDebugClient client, SymbolTable symbols)
        {
            if (KaslrSlide is long forced) return (symbols.WithSlide(forced), "given");
            if (Kallsyms != null) return (symbols, "kallsyms"); // /proc/kallsyms already shows run-time addresses
            if (NoBreakIn)
            {
                WriteWarning("The kernel was not stopped, so the KASLR slide was not detected: symbol addresses assume no slide. Pass -KaslrSlide if the kernel moved.");
                return (symbols, null);
            }

            try
            {
                KaslrSlide slide = Await(ct => Symbols.KaslrSlide.DetectAsync(client, symbols, ct));
                WriteVerbose($"KASLR slide 0x{slide.Slide:x} ({slide.Method}).");
                return (symbols.WithSlide(slide.Slide), slide.Method);
            }
            catch (Exception e) when (!(e is PipelineStoppedException))
            {
                WriteWarning($"The KASLR slide was not detected ({e.Message}): symbol addresses assume no slide. Pass -KaslrSlide to set it.");
                return (symbols, null);
            }
        }

        private StreamWriter OpenTrafficLog(string path)
        {
            string resolved = ResolveFilePath(path);
            try
            {
                return new StreamWriter(resolved, append: true) { AutoFlush = true };
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Fail(KgdbOeErrorId.FileError, ErrorCategory.WriteError, resolved, $"Cannot open the traffic log {resolved}: {e.Message}", e);
            }
        }
    }
}
