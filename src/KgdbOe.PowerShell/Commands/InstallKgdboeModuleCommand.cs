using System;
using System.IO;
using System.Management.Automation;
using System.Threading.Tasks;
using KgdbOe.PowerShell.Deployment;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Loads kgdboe into a Linux kernel over SSH, either uploading a prebuilt kgdboe.ko
    /// (-ModulePath) or building it on the target from the sources in the module package, and
    /// returns where the debugger should connect. Pipe the result into Connect-KernelTarget.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Install, "KgdboeModule", DefaultParameterSetName = BuildOnTargetSet,
        SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(KgdboeInstallation))]
    public sealed class InstallKgdboeModuleCommand : KgdbOeCmdlet
    {
        private const string BuildOnTargetSet = "BuildOnTarget";
        private const string PrebuiltSet = "Prebuilt";

        /// <summary>The SSH host of the target.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("HostName", "SshHost")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = "";

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, 65535)]
        public int SshPort { get; set; } = 22;

        /// <summary>The SSH user (root by default; loading modules needs root).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? UserName { get; set; }

        /// <summary>An unencrypted OpenSSH private key file.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("KeyPath", "IdentityFile")]
        [ValidateNotNullOrEmpty]
        public string? KeyFilePath { get; set; }

        /// <summary>User name and password for password login.</summary>
        [Parameter]
        public PSCredential? Credential { get; set; }

        /// <summary>OpenSSH known_hosts file checked for the host key (~/.ssh/known_hosts by default).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? KnownHostsPath { get; set; }

        /// <summary>Trust a host key the known_hosts file does not list yet, and add it there.</summary>
        [Parameter]
        public SwitchParameter AcceptHostKey { get; set; }

        /// <summary>A kgdboe.ko built for the target's kernel, uploaded instead of building on the target.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PrebuiltSet)]
        [ValidateNotNullOrEmpty]
        public string ModulePath { get; set; } = "";

        /// <summary>The kgdboe sources to build on the target (the package's module-c folder by default).</summary>
        [Parameter(ParameterSetName = BuildOnTargetSet)]
        [ValidateNotNullOrEmpty]
        public string? SourcePath { get; set; }

        /// <summary>The network interface kgdboe uses (module parameter device_name).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? DeviceName { get; set; }

        /// <summary>The UDP port kgdboe listens on in the target (module parameter udp_port, 31337 by default).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int? UdpPort { get; set; }

        /// <summary>The IPv4 address kgdboe answers on (module parameter local_ip).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? LocalIp { get; set; }

        /// <summary>Accept the debugger only from this IPv4 address (module parameter peer_ip).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? PeerIp { get; set; }

        /// <summary>Take the other CPUs offline while debugging instead of quieting the NIC on them.</summary>
        [Parameter]
        public SwitchParameter ForceSingleCore { get; set; }

        /// <summary>The host the debugger sends to, when not the SSH host (NAT, port forward).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? DebugHost { get; set; }

        /// <summary>The UDP port on DebugHost that reaches kgdboe, when not the module's own port.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, 65535)]
        public int? DebugPort { get; set; }

        /// <summary>The target kernel's System.map on this machine, passed on to Connect-KernelTarget.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? SystemMap { get; set; }

        /// <summary>
        /// Load kgdboe without a key: raw GDB remote protocol over UDP for stock gdb, open to anyone
        /// who can reach the port. By default a new 256-bit key is made and only the keyed v2 wire is spoken.
        /// </summary>
        [Parameter]
        public SwitchParameter NoKey { get; set; }

        /// <summary>Seconds to wait for the SSH server to answer.</summary>
        [Parameter]
        [ValidateRange(1, 3600)]
        public int ConnectTimeout { get; set; } = 15;

        /// <summary>Seconds the build on the target may take (TCG guests are slow).</summary>
        [Parameter(ParameterSetName = BuildOnTargetSet)]
        [ValidateRange(10, 86400)]
        public int BuildTimeout { get; set; } = 1200;

        protected override void ProcessRecordCore()
        {
            bool prebuilt = ParameterSetName == PrebuiltSet;
            string? modulePath = prebuilt ? ResolveFilePath(ModulePath) : null;
            string? sourcePath = prebuilt ? null : SourcePath != null ? ResolveFilePath(SourcePath) : DefaultSourcePath();
            var endpoint = SshEndpoint.FromParameters(ComputerName, SshPort, UserName, KeyFilePath != null ? ResolveFilePath(KeyFilePath) : null,
                Credential, KnownHostsPath != null ? ResolveFilePath(KnownHostsPath) : null);
            endpoint.AcceptUnknownHostKey = AcceptHostKey;
            endpoint.ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeout);
            var parameters = new KgdboeParameters
            {
                DeviceName = DeviceName,
                UdpPort = UdpPort,
                LocalIp = LocalIp,
                PeerIp = PeerIp,
                ForceSingleCore = ForceSingleCore,
            };
            parameters.ToInsmodArguments(); // bad values fail here, before anything touches the target
            string? systemMap = SystemMap != null ? ResolveFilePath(SystemMap) : null;

            string action = prebuilt ? $"Load kgdboe from {modulePath}" : $"Build kgdboe from {sourcePath} on the target and load it";
            if (!ShouldProcess(endpoint.ToString(), action)) return;

            var progress = new ProgressRecord(ActivityId, $"Installing kgdboe on {endpoint.Host}", "Connecting");
            Action<string, int> report = (status, percent) => PostToPipeline(() =>
            {
                progress.StatusDescription = status;
                progress.PercentComplete = percent;
                WriteProgress(progress);
            });

            byte[]? key = null;
            if (!NoKey)
            {
                key = new byte[32];
                using (var rng = System.Security.Cryptography.RandomNumberGenerator.Create()) rng.GetBytes(key);
            }

            var installation = Await(ct => Task.Run(() =>
            {
                report($"Connecting to {endpoint} over SSH", 5);
                using (var shell = RemoteShell.Connect(endpoint, ct))
                {
                    if (shell.HostKeyAdded)
                        PostToPipeline(() => WriteVerbose($"Added {shell.HostKey} for {endpoint.Host} to {endpoint.KnownHostsPath}."));
                    var installer = new KgdboeInstaller(shell, report, ct) { BuildTimeout = TimeSpan.FromSeconds(BuildTimeout) };
                    var facts = installer.CheckTarget();
                    string remoteModule = prebuilt ? installer.UploadModule(modulePath!) : installer.BuildOnTarget(sourcePath!, facts);
                    var ready = installer.Load(remoteModule, parameters, key);
                    return Describe(endpoint, shell, facts, ready, !prebuilt, systemMap);
                }
            }, ct));

            try
            {
                if (key != null)
                {
                    installation.Key = KgdboeKeyStore.ToSecureString(key);
                    installation.Keyed = true;
                    installation.KeyPath = KgdboeKeyStore.Save(installation.ComputerName, installation.Port, key);
                    WriteVerbose($"kgdboe is keyed; its key is stored in {installation.KeyPath} (owner only).");
                }
                else
                {
                    // A key stored by an earlier keyed install would no longer fit this module.
                    KgdboeKeyStore.Remove(installation.ComputerName, installation.Port);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                WriteWarning($"kgdboe is loaded, but its key could not be stored ({e.Message}); pass the installation's Key to Connect-KernelTarget.");
            }
            finally
            {
                if (key != null) Array.Clear(key, 0, key.Length);
            }

            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
            WriteVerbose(installation.ReadyLine);
            WriteObject(installation);
        }

        protected override ErrorRecord? TranslateException(Exception e) =>
            e is DeploymentException d ? d.ToErrorRecord() : base.TranslateException(e);

        private const int ActivityId = 0x6b67; // any fixed id: lets Write-Progress replace its own bar

        // Runs on the worker thread: touches no PowerShell state.
        private KgdboeInstallation Describe(SshEndpoint endpoint, RemoteShell shell, TargetFacts facts, ReadyLine ready, bool builtOnTarget,
            string? systemMap) =>
            new KgdboeInstallation
            {
                ComputerName = DebugHost ?? endpoint.Host,
                Port = DebugPort ?? ready.DevicePort,
                Transport = "Udp",
                SystemMap = systemMap,
                Device = ready.Device,
                DeviceIp = ready.DeviceIp,
                DevicePort = ready.DevicePort,
                Mode = ready.Mode,
                Irqs = ready.Irqs,
                TxQueues = ready.TxQueues,
                Owner = ready.Owner,
                KernelRelease = facts.KernelRelease,
                BuiltOnTarget = builtOnTarget,
                ReadyLine = ready.Text,
                SshHost = endpoint.Host,
                SshPort = endpoint.Port,
                SshUserName = endpoint.UserName,
                KeyFilePath = endpoint.KeyFilePath,
                KnownHostsPath = endpoint.KnownHostsPath,
                SshCredential = Credential,
                HostKeyFingerprint = shell.HostKey.Fingerprint,
                InstalledAt = DateTime.Now,
            };

        // The module package carries the sources next to the dll: <package>/module-c.
        private string DefaultSourcePath()
        {
            string? moduleBase = MyInvocation.MyCommand.Module?.ModuleBase;
            if (string.IsNullOrEmpty(moduleBase)) moduleBase = Path.GetDirectoryName(typeof(InstallKgdboeModuleCommand).Assembly.Location);
            return Path.Combine(moduleBase ?? ".", "module-c");
        }
    }
}
