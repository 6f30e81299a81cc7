using System;
using System.IO;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>Where and how to log in over SSH. Plain data: no SSH.NET types leak out of Deployment/.</summary>
    internal sealed class SshEndpoint
    {
        public SshEndpoint(string host, int port, string userName, string knownHostsPath)
        {
            Host = host;
            Port = port;
            UserName = userName;
            KnownHostsPath = knownHostsPath;
        }

        public string Host { get; }

        public int Port { get; }

        public string UserName { get; }

        /// <summary>OpenSSH-format private key; null to try only the password (or the default keys).</summary>
        public string? KeyFilePath { get; set; }

        /// <summary>Password for password and keyboard-interactive login; null for key-only login.</summary>
        public string? Password { get; set; }

        public string KnownHostsPath { get; }

        /// <summary>Trust and record a key the known_hosts file does not mention (never a changed one).</summary>
        public bool AcceptUnknownHostKey { get; set; }

        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

        /// <summary>OpenSSH's per-user file, ~/.ssh/known_hosts.</summary>
        public static string DefaultKnownHostsPath =>
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");

        /// <summary>
        /// The login the cmdlets' parameters describe. A credential brings its own user name; naming a
        /// different one with -UserName as well is a contradiction, not something to guess about.
        /// </summary>
        public static SshEndpoint FromParameters(string host, int port, string? userName, string? keyFilePath,
            PSCredential? credential, string? knownHostsPath)
        {
            string user = userName ?? "root";
            if (credential != null)
            {
                string credentialUser = credential.UserName.TrimStart('\\');
                if (userName != null && !string.Equals(userName, credentialUser, StringComparison.Ordinal))
                {
                    throw new DeploymentException(DeploymentErrorIds.SshAuthenticationFailed, ErrorCategory.InvalidArgument, host,
                        $"-UserName '{userName}' and the user of -Credential '{credentialUser}' differ: give one of them.");
                }
                user = credentialUser;
            }
            return new SshEndpoint(host, port, user, knownHostsPath ?? DefaultKnownHostsPath)
            {
                KeyFilePath = keyFilePath,
                Password = credential?.GetNetworkCredential().Password,
            };
        }

        public override string ToString() => $"{UserName}@{Host}:{Port}";
    }
}
