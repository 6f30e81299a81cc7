using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>
    /// Makes sure kgdboe is loaded in a lab guest: KGDBOE_MODULE names a built kgdboe.ko, or the module-c
    /// sources are built against the lab's Kdir in a scratch copy (never in module-c itself).
    /// </summary>
    internal static class KgdboeModule
    {
        private static readonly SemaphoreSlim BuildLock = new SemaphoreSlim(1, 1);

        public static async Task EnsureLoadedAsync(LabState lab)
        {
            string loaded = await lab.SshAsync("test -d /sys/module/kgdboe && echo yes || echo no");
            if (loaded.Trim() == "yes") return;
            string ko = await BuildAsync(lab.Kdir);
            await lab.SshAsync("cat > /tmp/kgdboe.ko", stdin: ko);
            await lab.SshAsync("insmod /tmp/kgdboe.ko");
        }

        private static async Task<string> BuildAsync(string kdir)
        {
            string? given = Environment.GetEnvironmentVariable("KGDBOE_MODULE");
            if (!string.IsNullOrEmpty(given)) { Assert.True(File.Exists(given), $"KGDBOE_MODULE='{given}' does not exist."); return given!; }
            await BuildLock.WaitAsync();
            try
            {
                string source = Path.Combine(RepositoryRoot(), "module-c");
                string scratch = Path.Combine(Path.GetTempPath(), "kgdboe-core-tests-build");
                Directory.CreateDirectory(scratch);
                foreach (string f in Directory.GetFiles(source))
                    if (f.EndsWith(".c") || f.EndsWith(".h") || Path.GetFileName(f) == "Makefile" || Path.GetFileName(f) == "Kbuild")
                        File.Copy(f, Path.Combine(scratch, Path.GetFileName(f)), overwrite: true);
                var psi = new ProcessStartInfo("make", $"-j2 -C {scratch} KDIR={kdir}") { RedirectStandardOutput = true, RedirectStandardError = true };
                using var p = Process.Start(psi)!;
                string output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                string ko = Path.Combine(scratch, "kgdboe.ko");
                Assert.True(p.ExitCode == 0 && File.Exists(ko), "building kgdboe failed:\n" + output);
                return ko;
            }
            finally
            {
                BuildLock.Release();
            }
        }

        internal static string RepositoryRoot()
        {
            string? dir = AppContext.BaseDirectory;
            while (dir != null && !File.Exists(Path.Combine(dir, "Directory.Packages.props"))) dir = Path.GetDirectoryName(dir);
            return dir ?? throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
        }
    }
}
