using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// What a target must offer before kgdboe can load, gathered in one remote command that runs
    /// under both busybox and a full distribution: who we are, the kernel release, whether KGDB is
    /// built in, the lockdown mode and whether kgdboe is already there.
    /// </summary>
    internal sealed class TargetFacts
    {
        // Printed as key=value lines so one round trip answers everything. KGDB: the exported
        // register call in kallsyms, or the sysfs folder of its built-in parameters.
        private const string ProbeScript =
            "echo uid=$(id -u); echo release=$(uname -r); " +
            "if grep -q ' kgdb_register_io_module$' /proc/kallsyms 2>/dev/null || [ -d /sys/module/kgdb ] || [ -d /sys/module/kgdboc ]; " +
            "then echo kgdb=1; else echo kgdb=0; fi; " +
            "if [ -r /sys/kernel/security/lockdown ]; then echo lockdown=$(cat /sys/kernel/security/lockdown); fi; " +
            "if grep -q '^kgdboe ' /proc/modules 2>/dev/null; then echo loaded=1; else echo loaded=0; fi";

        private TargetFacts(IDictionary<string, string> values)
        {
            IsRoot = Get(values, "uid") == "0";
            KernelRelease = Get(values, "release");
            HasKgdb = Get(values, "kgdb") == "1";
            Lockdown = SelectedLockdownMode(Get(values, "lockdown"));
            KgdboeLoaded = Get(values, "loaded") == "1";
        }

        public bool IsRoot { get; }

        public string KernelRelease { get; }

        public bool HasKgdb { get; }

        /// <summary>"none", "integrity", "confidentiality", or null when the kernel has no lockdown LSM.</summary>
        public string? Lockdown { get; }

        public bool KgdboeLoaded { get; }

        public static TargetFacts Probe(RemoteShell shell, CancellationToken cancellation)
        {
            var result = shell.Run(ProbeScript, TimeSpan.FromSeconds(60), cancellation);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in result.Output.Split('\n'))
            {
                int eq = line.IndexOf('=');
                if (eq > 0) values[line.Substring(0, eq).Trim()] = line.Substring(eq + 1).Trim();
            }
            if (!values.ContainsKey("release"))
            {
                throw new DeploymentException(DeploymentErrorIds.RemoteCommandFailed, ErrorCategory.InvalidResult, shell.Endpoint.Host,
                    $"Cannot inspect the kernel of {shell.Endpoint}: the probe printed '{result.Output.Trim()}' " +
                    $"and '{result.Error.Trim()}' (exit {result.ExitStatus}). A POSIX shell with id, uname and grep is needed.");
            }
            return new TargetFacts(values);
        }

        /// <summary>Throws the error that explains why kgdboe cannot load here, if any.</summary>
        public void EnsureKgdboeCanLoad(SshEndpoint endpoint)
        {
            string host = endpoint.Host;
            if (!IsRoot)
            {
                throw new DeploymentException(DeploymentErrorIds.RemoteUserNotRoot, ErrorCategory.PermissionDenied, host,
                    $"{endpoint}: loading a kernel module needs root; log in as root (-UserName root or a root -Credential).");
            }
            // Lockdown first: it refuses debugging whatever the kernel was built with.
            if (Lockdown != null && Lockdown != "none")
            {
                throw new DeploymentException(DeploymentErrorIds.KernelLockdown, ErrorCategory.SecurityError, host,
                    $"The kernel of {host} runs in lockdown mode '{Lockdown}' (/sys/kernel/security/lockdown), which " +
                    "refuses kernel debugging. Boot it with lockdown=none (and Secure Boot off) to use kgdboe.");
            }
            if (!HasKgdb)
            {
                throw new DeploymentException(DeploymentErrorIds.KernelWithoutKgdb, ErrorCategory.NotInstalled, host,
                    $"The kernel of {host} ({KernelRelease}) has no KGDB: kgdb_register_io_module is not in /proc/kallsyms " +
                    "and /sys/module/kgdb does not exist. kgdboe needs a kernel built with CONFIG_KGDB=y " +
                    "(most distribution kernels leave it off).");
            }
            if (KgdboeLoaded)
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeAlreadyLoaded, ErrorCategory.ResourceExists, host,
                    $"kgdboe is already loaded on {host}. Remove it first (Uninstall-KgdboeModule), or connect to it as it is.");
            }
        }

        private static string Get(IDictionary<string, string> values, string key) =>
            values.TryGetValue(key, out var v) ? v : "";

        // The file lists every mode and brackets the active one: "[none] integrity confidentiality".
        private static string? SelectedLockdownMode(string text)
        {
            if (text.Length == 0) return null;
            int open = text.IndexOf('['), close = text.IndexOf(']');
            return open >= 0 && close > open ? text.Substring(open + 1, close - open - 1) : text;
        }
    }
}
