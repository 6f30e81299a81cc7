using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// kgdboe loaded in a kernel: where to send the debugger's datagrams (ComputerName, Port,
    /// Transport, SystemMap bind to Connect-KernelTarget by property name), what the module
    /// reported when it became ready, and the SSH login Uninstall-KgdboeModule reuses.
    /// </summary>
    public sealed class KgdboeInstallation
    {
        /// <summary>Host the debugger sends UDP to: the SSH host unless -DebugHost said otherwise.</summary>
        public string ComputerName { get; set; } = "";

        /// <summary>UDP port on ComputerName (differs from DevicePort behind a NAT or QEMU port forward).</summary>
        public int Port { get; set; }

        public string Transport { get; set; } = "Udp";

        /// <summary>The kernel's System.map on this machine, when given to Install-KgdboeModule.</summary>
        public string? SystemMap { get; set; }

        /// <summary>The network interface kgdboe uses (dev= in the ready line).</summary>
        public string Device { get; set; } = "";

        /// <summary>The address kgdboe answers on, as the target sees it.</summary>
        public string DeviceIp { get; set; } = "";

        /// <summary>The UDP port kgdboe listens on, in the target.</summary>
        public int DevicePort { get; set; }

        /// <summary>multi-core (other CPUs keep their NIC quiet) or single-core.</summary>
        public string Mode { get; set; } = "";

        public int[] Irqs { get; set; } = Array.Empty<int>();

        public int TxQueues { get; set; }

        /// <summary>The module owning the NIC driver, or "builtin".</summary>
        public string Owner { get; set; } = "";

        public string KernelRelease { get; set; } = "";

        /// <summary>True when kgdboe was compiled on the target; false for an uploaded -ModulePath.</summary>
        public bool BuiltOnTarget { get; set; }

        /// <summary>The ready line exactly as the module printed it.</summary>
        public string ReadyLine { get; set; } = "";

        public string SshHost { get; set; } = "";

        public int SshPort { get; set; } = 22;

        public string SshUserName { get; set; } = "root";

        public string? KeyFilePath { get; set; }

        public string KnownHostsPath { get; set; } = "";

        /// <summary>The password login, kept so the installation alone can uninstall; null with key login.</summary>
        public PSCredential? SshCredential { get; set; }

        /// <summary>SHA256 fingerprint of the SSH host key that was verified.</summary>
        public string HostKeyFingerprint { get; set; } = "";

        public DateTime InstalledAt { get; set; }

        /// <summary>
        /// The module's 256-bit key as 64 hex digits, when it was loaded with one (the keyed v2 wire);
        /// null for a keyless (raw) module. Binds to Connect-KernelTarget -Key. No view shows it.
        /// </summary>
        public System.Security.SecureString? Key { get; set; }

        /// <summary>True when the module speaks only the keyed v2 wire (wire=v2 in the ready line).</summary>
        public bool Keyed { get; set; }

        /// <summary>Where the key was stored for this user (owner-only), found by Connect-KernelTarget by ComputerName and Port.</summary>
        public string? KeyPath { get; set; }

        public override string ToString() => $"kgdboe on {SshHost} ({Device} {DeviceIp}:{DevicePort}, {Mode})";
    }
}
