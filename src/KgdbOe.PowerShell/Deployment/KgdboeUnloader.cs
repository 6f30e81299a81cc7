using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>Removes kgdboe from a running kernel with rmmod, explaining a refusal in the kernel's words.</summary>
    internal static class KgdboeUnloader
    {
        public static void Unload(RemoteShell shell, CancellationToken cancellation)
        {
            string host = shell.Endpoint.Host;
            var loaded = shell.Run("grep -q '^kgdboe ' /proc/modules", TimeSpan.FromSeconds(30), cancellation);
            if (!loaded.Succeeded)
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeNotLoaded, ErrorCategory.ObjectNotFound, host,
                    $"kgdboe is not loaded on {host} (not in /proc/modules).");
            }
            var log = KernelLogWindow.Open(shell, cancellation);
            var rmmod = shell.Run("rmmod kgdboe", TimeSpan.FromMinutes(1), cancellation);
            if (rmmod.Succeeded) return;

            string said = (rmmod.Error.Trim() + " " + rmmod.Output.Trim()).Trim();
            var kernel = log.Read(cancellation).Select(KernelLogWindow.WithoutTimestamp).Distinct().ToList();
            string reason = kernel.Count > 0 ? " The kernel log says: " + string.Join(" | ", kernel) + "." : "";
            // The module holds a reference on itself while a debugger is attached. kmod's rmmod says
            // "in use"; busybox's gets EAGAIN from the kernel. The reference count says it for both.
            var users = shell.Run("awk '$1 == \"kgdboe\" { print $3 }' /proc/modules", TimeSpan.FromSeconds(30), cancellation);
            bool inUse = int.TryParse(users.Output.Trim(), out int refs) && refs > 0;
            if (inUse || said.IndexOf("in use", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeModuleInUse, ErrorCategory.ResourceBusy, host,
                    $"kgdboe on {host} is in use ({said}): a debugger is attached. Disconnect it (Disconnect-KernelTarget) " +
                    "and try again." + reason);
            }
            throw new DeploymentException(DeploymentErrorIds.KgdboeUnloadRefused, ErrorCategory.InvalidOperation, host,
                $"rmmod kgdboe failed on {host}: {said}.{reason}");
        }
    }
}
