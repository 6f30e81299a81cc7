using System;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using KgdbOe.PowerShell.Deployment;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Removes kgdboe from a kernel over SSH (rmmod). Takes the object Install-KgdboeModule
    /// returned, or the SSH login parameters. Refuses while this session is connected to it.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Uninstall, "KgdboeModule", DefaultParameterSetName = InstallationSet,
        SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class UninstallKgdboeModuleCommand : KgdbOeCmdlet
    {
        private const string InstallationSet = "Installation";
        private const string ConnectionSet = "Connection";

        /// <summary>What Install-KgdboeModule returned.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InstallationSet)]
        [ValidateNotNull]
        public KgdboeInstallation? InputObject { get; set; }

        /// <summary>The SSH host of the target.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ConnectionSet)]
        [Alias("HostName", "SshHost")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = "";

        [Parameter(ParameterSetName = ConnectionSet)]
        [ValidateRange(1, 65535)]
        public int SshPort { get; set; } = 22;

        [Parameter(ParameterSetName = ConnectionSet)]
        [ValidateNotNullOrEmpty]
        public string? UserName { get; set; }

        [Parameter(ParameterSetName = ConnectionSet)]
        [Alias("KeyPath", "IdentityFile")]
        [ValidateNotNullOrEmpty]
        public string? KeyFilePath { get; set; }

        [Parameter(ParameterSetName = ConnectionSet)]
        public PSCredential? Credential { get; set; }

        [Parameter(ParameterSetName = ConnectionSet)]
        [ValidateNotNullOrEmpty]
        public string? KnownHostsPath { get; set; }

        /// <summary>Skip the check for a session of this runspace still connected to the module.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        [ValidateRange(1, 3600)]
        public int ConnectTimeout { get; set; } = 15;

        protected override void ProcessRecordCore()
        {
            SshEndpoint endpoint = InputObject != null
                ? SshEndpoint.FromParameters(InputObject.SshHost, InputObject.SshPort, InputObject.SshUserName,
                    InputObject.KeyFilePath, InputObject.SshCredential, InputObject.KnownHostsPath)
                : SshEndpoint.FromParameters(ComputerName, SshPort, UserName, KeyFilePath != null ? ResolveFilePath(KeyFilePath) : null,
                    Credential, KnownHostsPath != null ? ResolveFilePath(KnownHostsPath) : null);
            endpoint.ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeout);

            if (InputObject != null && !Force) EnsureNotAttached(InputObject);
            if (!ShouldProcess(endpoint.ToString(), "Unload kgdboe (rmmod)")) return;

            Await(ct => Task.Run(() =>
            {
                using (var shell = RemoteShell.Connect(endpoint, ct))
                {
                    KgdboeUnloader.Unload(shell, ct);
                }
            }, ct));
            WriteVerbose($"kgdboe removed from {endpoint.Host}.");
            // Its key fits no module any more (the next install makes a new one).
            if (InputObject != null && InputObject.Keyed)
            {
                try { Deployment.KgdboeKeyStore.Remove(InputObject.ComputerName, InputObject.Port); }
                catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
                {
                    WriteWarning($"The stored key of {InputObject.ComputerName}:{InputObject.Port} could not be removed: {e.Message}");
                }
            }
        }

        protected override ErrorRecord? TranslateException(Exception e) =>
            e is DeploymentException d ? d.ToErrorRecord() : base.TranslateException(e);

        // rmmod would also refuse (the module pins itself while a debugger is attached), but saying
        // which session holds it is clearer than the kernel's "in use".
        private static void EnsureNotAttached(KgdboeInstallation installation)
        {
            var attached = SessionRegistry.Current.Sessions.FirstOrDefault(s =>
                string.Equals(s.Client.Endpoint.Host, installation.ComputerName, StringComparison.OrdinalIgnoreCase)
                && s.Client.Endpoint.Port == installation.Port);
            if (attached != null)
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeModuleInUse, ErrorCategory.ResourceBusy, installation,
                    $"Session '{attached.Name}' is connected to kgdboe on {installation.SshHost}: run Disconnect-KernelTarget " +
                    "first (or -Force to unload anyway).");
            }
        }
    }
}
