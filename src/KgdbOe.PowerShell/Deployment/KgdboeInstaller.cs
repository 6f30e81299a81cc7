using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// Puts kgdboe into a running kernel over one SSH login: checks the target, gets a kgdboe.ko
    /// there (uploaded prebuilt, or built on the target from the sources the package carries),
    /// loads it with insmod and reads back the module's ready line. Each step reports progress
    /// and fails with a DeploymentException that says what is missing and where.
    /// </summary>
    internal sealed class KgdboeInstaller
    {
        /// <summary>Where uploads and builds go on the target (tmpfs on the lab guests).</summary>
        public const string RemoteDirectory = "/tmp/kgdboe";

        private readonly RemoteShell _shell;
        private readonly Action<string, int> _progress;
        private readonly CancellationToken _cancellation;

        public KgdboeInstaller(RemoteShell shell, Action<string, int> progress, CancellationToken cancellation)
        {
            _shell = shell;
            _progress = progress;
            _cancellation = cancellation;
        }

        /// <summary>A module build under QEMU without KVM takes minutes; a real machine seconds.</summary>
        public TimeSpan BuildTimeout { get; set; } = TimeSpan.FromMinutes(20);

        /// <summary>How long to wait for the ready line after insmod returned.</summary>
        public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(15);

        private string Host => _shell.Endpoint.Host;

        public TargetFacts CheckTarget()
        {
            _progress("Checking the target kernel (KGDB, lockdown, loaded modules)", 10);
            var facts = TargetFacts.Probe(_shell, _cancellation);
            facts.EnsureKgdboeCanLoad(_shell.Endpoint);
            return facts;
        }

        /// <summary>Uploads a kgdboe.ko built elsewhere; returns its path on the target.</summary>
        public string UploadModule(string localPath)
        {
            if (!File.Exists(localPath))
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeModuleFileNotFound, ErrorCategory.ObjectNotFound, localPath,
                    $"The module file '{localPath}' does not exist. Build it for the target's kernel " +
                    "(make -C module-c KDIR=<kernel build tree>) or leave out -ModulePath to build on the target.");
            }
            _progress($"Uploading {Path.GetFileName(localPath)} to {Host}", 30);
            string remote = RemoteDirectory + "/kgdboe.ko";
            Check(_shell.Run("mkdir -p " + RemoteDirectory, TimeSpan.FromSeconds(30), _cancellation), "create " + RemoteDirectory);
            Upload(localPath, remote);
            return remote;
        }

        /// <summary>Uploads the module's sources and builds them against the target's own kernel headers.</summary>
        public string BuildOnTarget(string sourceDirectory, TargetFacts facts)
        {
            var files = SourceFiles(sourceDirectory);
            _progress("Checking for make, gcc and kernel headers on " + Host, 20);
            string kdir = "/lib/modules/" + facts.KernelRelease + "/build";
            var check = _shell.Run(
                "for t in make gcc; do command -v $t >/dev/null 2>&1 || echo missing-tool=$t; done; " +
                "[ -f " + ShellQuote.Quote(kdir + "/Makefile") + " ] || echo missing-headers",
                TimeSpan.FromSeconds(30), _cancellation);
            var missingTools = check.Output.Split('\n').Where(l => l.StartsWith("missing-tool=", StringComparison.Ordinal))
                .Select(l => l.Substring("missing-tool=".Length).Trim()).ToList();
            if (missingTools.Count > 0)
            {
                throw new DeploymentException(DeploymentErrorIds.BuildToolsMissing, ErrorCategory.NotInstalled, Host,
                    $"Cannot build kgdboe on {Host}: {string.Join(" and ", missingTools)} not installed there " +
                    $"(Debian/Ubuntu: apt-get install build-essential). Or build kgdboe.ko elsewhere and pass it with -ModulePath.");
            }
            if (check.Output.Contains("missing-headers"))
            {
                throw new DeploymentException(DeploymentErrorIds.KernelHeadersMissing, ErrorCategory.NotInstalled, Host,
                    $"Cannot build kgdboe on {Host}: no headers for its kernel {facts.KernelRelease} ({kdir}/Makefile is " +
                    $"missing). Install them (Debian: apt-get install linux-headers-{facts.KernelRelease}; for a self-built " +
                    "kernel, its build tree) or build kgdboe.ko elsewhere and pass it with -ModulePath.");
            }

            string remoteSource = RemoteDirectory + "/src";
            Check(_shell.Run($"rm -rf {remoteSource} && mkdir -p {remoteSource}", TimeSpan.FromSeconds(30), _cancellation),
                "prepare " + remoteSource);
            for (int i = 0; i < files.Count; i++)
            {
                _progress($"Uploading the kgdboe sources ({i + 1}/{files.Count})", 25 + 10 * i / files.Count);
                string relative = files[i].Substring(sourceDirectory.Length).TrimStart(Path.DirectorySeparatorChar, '/')
                    .Replace(Path.DirectorySeparatorChar, '/');
                string remote = remoteSource + "/" + relative;
                string remoteDir = remote.Substring(0, remote.LastIndexOf('/'));
                if (remoteDir != remoteSource)
                    Check(_shell.Run("mkdir -p " + ShellQuote.Quote(remoteDir), TimeSpan.FromSeconds(30), _cancellation), "create " + remoteDir);
                Upload(files[i], remote);
            }

            _progress($"Building kgdboe on {Host} against {kdir}", 40);
            // One job per CPU the target has: a real machine builds in seconds, a TCG guest in minutes.
            var build = _shell.Run($"make -j\"$(nproc 2>/dev/null || echo 1)\" -C {ShellQuote.Quote(kdir)} M={remoteSource} modules 2>&1",
                BuildTimeout, _cancellation);
            string ko = remoteSource + "/kgdboe.ko";
            if (!build.Succeeded)
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeBuildFailed, ErrorCategory.InvalidResult, Host,
                    $"Building kgdboe on {Host} failed (make exit {build.ExitStatus}):{Environment.NewLine}{Tail(build.Output, 25)}");
            }
            return ko;
        }

        /// <summary>insmod, then wait for the ready line. The kernel's own words explain a refusal.</summary>
        /// <remarks>
        /// With a key (32 bytes) the module speaks only the keyed v2 wire. The key travels in the SSH
        /// channel's stdin into a shell variable, so it is on no command line but insmod's own, for the
        /// moment insmod runs; the module wipes its copy of the argument and shows key=set, never the key.
        /// </remarks>
        public ReadyLine Load(string remoteModule, KgdboeParameters parameters, byte[]? key = null)
        {
            var arguments = parameters.ToInsmodArguments();
            _progress("Loading kgdboe (insmod " + string.Join(" ", arguments) + (key != null ? " key=<256-bit key>" : "") + ")", 70);
            var log = KernelLogWindow.Open(_shell, _cancellation);
            string command = "insmod " + ShellQuote.Quote(remoteModule) + string.Concat(arguments.Select(a => " " + ShellQuote.Quote(a)));
            RemoteCommandResult insmod;
            if (key == null)
            {
                insmod = _shell.Run(command, TimeSpan.FromMinutes(2), _cancellation);
            }
            else
            {
                byte[] line = System.Text.Encoding.ASCII.GetBytes(KgdboeKeyStore.ToHex(key) + "\n");
                try
                {
                    using (var stdin = new MemoryStream(line))
                        insmod = _shell.Run("IFS= read -r k && " + command + " \"key=$k\"", stdin, TimeSpan.FromMinutes(2), _cancellation);
                }
                finally
                {
                    Array.Clear(line, 0, line.Length);
                }
            }
            if (!insmod.Succeeded)
            {
                string said = Said(insmod);
                if (said.IndexOf("File exists", StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    throw new DeploymentException(DeploymentErrorIds.KgdboeAlreadyLoaded, ErrorCategory.ResourceExists, Host,
                        $"kgdboe is already loaded on {Host} ({said}). Remove it first with Uninstall-KgdboeModule.");
                }
                var kernel = log.Read(_cancellation).Select(KernelLogWindow.WithoutTimestamp).Distinct().ToList();
                string reason = kernel.Count > 0 ? string.Join(" | ", kernel) : "(nothing in the kernel log)";
                throw new DeploymentException(DeploymentErrorIds.KgdboeLoadRefused, ErrorCategory.InvalidOperation, Host,
                    $"The kernel of {Host} refused to load kgdboe: {reason}. insmod said: {said}");
            }

            _progress("Waiting for kgdboe's ready line in the kernel log", 85);
            var deadline = DateTime.UtcNow + ReadyTimeout;
            while (true)
            {
                var lines = log.Read(_cancellation);
                var ready = ReadyLine.FindIn(string.Join("\n", lines));
                if (ready != null) return ready;
                if (DateTime.UtcNow > deadline)
                {
                    string seen = lines.Count > 0 ? string.Join(" | ", lines.Select(KernelLogWindow.WithoutTimestamp)) : "nothing";
                    throw new DeploymentException(DeploymentErrorIds.KgdboeReadyLineMissing, ErrorCategory.OperationTimeout, Host,
                        $"kgdboe loaded on {Host} but did not report '{ReadyLine.Marker.Trim()}' within " +
                        $"{ReadyTimeout.TotalSeconds:0} s; the kernel log says: {seen}. It is still loaded: " +
                        "Uninstall-KgdboeModule removes it.");
                }
                _cancellation.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300));
                _cancellation.ThrowIfCancellationRequested();
            }
        }

        private void Upload(string localPath, string remotePath)
        {
            long size = new FileInfo(localPath).Length;
            using (var file = File.OpenRead(localPath))
            {
                Check(_shell.Run("cat > " + ShellQuote.Quote(remotePath), file, TimeSpan.FromMinutes(5), _cancellation),
                    "upload " + remotePath);
            }
            // A short write (full disk, dropped channel) must not surface later as a strange insmod error.
            var written = _shell.Run("wc -c < " + ShellQuote.Quote(remotePath), TimeSpan.FromSeconds(30), _cancellation);
            if (!long.TryParse(written.Output.Trim(), out long remoteSize) || remoteSize != size)
            {
                throw new DeploymentException(DeploymentErrorIds.RemoteCommandFailed, ErrorCategory.WriteError, remotePath,
                    $"Uploading {localPath} to {Host}:{remotePath} wrote {written.Output.Trim()} of {size} bytes.");
            }
        }

        private void Check(RemoteCommandResult result, string what)
        {
            if (result.Succeeded) return;
            throw new DeploymentException(DeploymentErrorIds.RemoteCommandFailed, ErrorCategory.InvalidResult, Host,
                $"Could not {what} on {Host}: {Said(result)} (exit {result.ExitStatus}).");
        }

        private static IReadOnlyList<string> SourceFiles(string directory)
        {
            if (!Directory.Exists(directory) || !File.Exists(Path.Combine(directory, "Makefile")) && !File.Exists(Path.Combine(directory, "Kbuild")))
            {
                throw new DeploymentException(DeploymentErrorIds.KgdboeSourcesNotFound, ErrorCategory.ObjectNotFound, directory,
                    $"The kgdboe sources are not at '{directory}' (a folder with a Makefile and the .c files). " +
                    "Pass -SourcePath, or -ModulePath with a prebuilt kgdboe.ko.");
            }
            return Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Where(f => !IsBuildProduct(f.Substring(directory.Length)))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToList();
        }

        // Objects from an earlier local build would confuse make on the target (other kernel, other paths).
        private static bool IsBuildProduct(string relativePath)
        {
            var parts = relativePath.Split(new[] { '/', Path.DirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Any(p => p.StartsWith(".", StringComparison.Ordinal))) return true;
            string name = parts[parts.Length - 1];
            return name == "modules.order" || name == "Module.symvers"
                || new[] { ".o", ".ko", ".mod", ".mod.c", ".cmd", ".d", ".tmp" }.Any(e => name.EndsWith(e, StringComparison.Ordinal));
        }

        private static string Said(RemoteCommandResult result)
        {
            string text = (result.Error.Trim() + " " + result.Output.Trim()).Trim();
            return text.Length > 0 ? text : "no output";
        }

        private static string Tail(string text, int lines)
        {
            var all = text.TrimEnd().Split('\n');
            return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
        }
    }
}
