using System;
using System.IO;
using System.Linq;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using Xunit;

namespace KgdbOe.Tests.Types
{
    /// <summary>Real kernels' BTF to test against: the host's, Debian's 6.1 (tests/lab/fetch-stock-btf.sh) and the lab kernels'.</summary>
    internal static class BtfSources
    {
        /// <summary>KGDBOE_REQUIRE_BTF=1 turns a missing source into a failure instead of a skip.</summary>
        public const string RequireVariable = "KGDBOE_REQUIRE_BTF";

        public const string StockVariable = "KGDBOE_STOCK_BTF";

        public const string HostPath = "/sys/kernel/btf/vmlinux";

        private static string Cache =>
            Environment.GetEnvironmentVariable("KGDBOE_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kgdboe");

        /// <summary>Debian's linux-image-amd64 BTF blob: $KGDBOE_STOCK_BTF, else the newest ~/.cache/kgdboe/stock-btf-*/vmlinux.btf.</summary>
        public static string? StockPath
        {
            get
            {
                string? env = Environment.GetEnvironmentVariable(StockVariable);
                if (!string.IsNullOrEmpty(env)) return env;
                if (!Directory.Exists(Cache)) return null;
                return Directory.GetDirectories(Cache, "stock-btf-*")
                    .Where(d => File.Exists(Path.Combine(d, ".done")))
                    .OrderByDescending(d => Directory.GetLastWriteTimeUtc(d))
                    .Select(d => Path.Combine(d, "vmlinux.btf"))
                    .FirstOrDefault(File.Exists);
            }
        }

        /// <summary>A finished lab kernel's vmlinux for <paramref name="series"/> ("6.12"): ~/.cache/kgdboe/kernel-&lt;series&gt;-*/vmlinux.</summary>
        public static string? LabVmlinux(string series)
        {
            if (!Directory.Exists(Cache)) return null;
            return Directory.GetDirectories(Cache, "kernel-" + series + "-*")
                .Where(d => File.Exists(Path.Combine(d, ".done")))
                .OrderByDescending(d => Directory.GetLastWriteTimeUtc(d))
                .Select(d => Path.Combine(d, "vmlinux"))
                .FirstOrDefault(File.Exists);
        }

        /// <summary>The BTF blob of a file: the .BTF section of an ELF file, else the file itself.</summary>
        public static byte[] ReadBtf(string path)
        {
            byte[] head = new byte[4];
            using (var f = File.OpenRead(path)) f.ReadExactly(head);
            if (head[0] != 0x7f || head[1] != (byte)'E' || head[2] != (byte)'L' || head[3] != (byte)'F') return File.ReadAllBytes(path);
            using IELF elf = ELFReader.Load(path);
            ISection section = elf.Sections.FirstOrDefault(s => s.Name == ".BTF")
                ?? throw new InvalidOperationException(path + " has no .BTF section");
            return section.GetContents();
        }

        public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";
    }

    /// <summary>A theory over one BTF source, skipped with the reason when the source is not on this machine.</summary>
    public sealed class BtfTheoryAttribute : TheoryAttribute
    {
        public BtfTheoryAttribute(string source)
        {
            if (BtfSources.Required) return;
            switch (source)
            {
                case "host":
                    if (!File.Exists(BtfSources.HostPath)) Skip = "This host's kernel has no " + BtfSources.HostPath + " (CONFIG_DEBUG_INFO_BTF off).";
                    break;
                case "stock":
                    if (BtfSources.StockPath == null) Skip = "No Debian 6.1 BTF: run tests/lab/fetch-stock-btf.sh (or set " + BtfSources.StockVariable + ").";
                    break;
                default:
                    if (BtfSources.LabVmlinux(source) == null) Skip = "Lab kernel " + source + " not built yet (tests/lab/build-kernel.sh " + source + ").";
                    break;
            }
            if (!Pahole.Available && Skip == null) Skip = "pahole is not installed (apt-get install dwarves).";
        }
    }
}
