using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using KgdbOe.Client;
using KgdbOe.Symbols;

namespace KgdbOe.Types
{
    /// <summary>Where a session's BTF came from, and what loading it cost.</summary>
    public sealed class KernelBtfLoad
    {
        internal KernelBtfLoad(BtfTypeGraph graph, string origin, string? path, long bytes, TimeSpan elapsed)
        {
            Graph = graph;
            Origin = origin;
            Path = path;
            Bytes = bytes;
            Elapsed = elapsed;
        }

        /// <summary>The types.</summary>
        public BtfTypeGraph Graph { get; }

        /// <summary>"file" (-BtfPath), "cache" (an earlier read of the same kernel) or "target" (read from the kernel's memory).</summary>
        public string Origin { get; }

        /// <summary>The file read (the given file, or the cache file), or null when nothing was cached.</summary>
        public string? Path { get; }

        /// <summary>The size of the BTF blob in bytes.</summary>
        public long Bytes { get; }

        /// <summary>How long reading and parsing took.</summary>
        public TimeSpan Elapsed { get; }

        public override string ToString() =>
            $"{Bytes} bytes of BTF from {(Origin == "target" ? "the target's memory" : Origin == "cache" ? "the cache " + Path : Path)} in {Elapsed.TotalSeconds:0.00} s";
    }

    /// <summary>
    /// Finds a kernel's BTF: a file (a raw blob such as /sys/kernel/btf/vmlinux, or an ELF vmlinux with a .BTF section),
    /// or the running kernel's own copy between the linker symbols __start_BTF and __stop_BTF (vmlinux.lds.h, BTF section,
    /// present when CONFIG_DEBUG_INFO_BTF=y), cached on disk by the SHA-256 of the kernel's linux_banner string.
    /// </summary>
    public static class KernelBtf
    {
        /// <summary>The largest BTF accepted from a target (Debian's 6.1 has 4.4 MB): a larger span means wrong symbols.</summary>
        public const long MaxTargetBtfBytes = 64L * 1024 * 1024;

        /// <summary>How many bytes of linux_banner are read (the string is about 150 bytes, NUL-terminated).</summary>
        private const int BannerBytes = 512;

        /// <summary>The default cache folder: $KGDBOE_BTF_CACHE, else $KGDBOE_CACHE/btf, else ~/.cache/kgdboe/btf.</summary>
        public static string DefaultCacheDirectory
        {
            get
            {
                string? own = Environment.GetEnvironmentVariable("KGDBOE_BTF_CACHE");
                if (!string.IsNullOrEmpty(own)) return own!;
                string? root = Environment.GetEnvironmentVariable("KGDBOE_CACHE");
                if (string.IsNullOrEmpty(root))
                    root = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kgdboe");
                return System.IO.Path.Combine(root!, "btf");
            }
        }

        /// <summary>
        /// The BTF of a file: the .BTF section of an ELF file, else the whole file as a BTF blob. Throws
        /// <see cref="BtfFormatException"/> for corrupt BTF or an ELF file without .BTF, IOException when unreadable.
        /// </summary>
        public static KernelBtfLoad LoadFile(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            var watch = Stopwatch.StartNew();
            byte[] data = ReadBlob(path);
            BtfTypeGraph graph = BtfTypeGraph.Parse(data);
            return new KernelBtfLoad(graph, "file", path, data.Length, watch.Elapsed);
        }

        /// <summary>The BTF bytes of a file: the .BTF section of an ELF file (vmlinux, a module's .ko), else the whole file.</summary>
        public static byte[] ReadBlob(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            byte[] head = new byte[4];
            int got;
            using (var f = File.OpenRead(path)) got = f.Read(head, 0, 4);
            if (got < 4 || head[0] != 0x7f || head[1] != (byte)'E' || head[2] != (byte)'L' || head[3] != (byte)'F') return File.ReadAllBytes(path);
            return ReadElfSection(path);
        }

        // Apart, so reading a raw blob never needs ELFSharp loaded.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static byte[] ReadElfSection(string path)
        {
            if (!ELFReader.TryLoad(path, out IELF? elf) || elf == null) throw new BtfFormatException($"'{path}' starts like ELF but cannot be read as ELF");
            using (elf)
            {
                ISection? section = elf.Sections.FirstOrDefault(s => s.Name == ".BTF");
                if (section == null) throw new BtfFormatException($"'{path}' has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF)");
                return section.GetContents();
            }
        }

        /// <summary>
        /// The running kernel's BTF: reads linux_banner, takes the cached copy for that banner when there is one, else reads
        /// __start_BTF..__stop_BTF through <paramref name="client"/> (the kernel must be stopped) and caches it. Returns
        /// null when the symbols have no __start_BTF/__stop_BTF (a kernel without BTF). <paramref name="symbols"/> must hold
        /// run-time addresses (already slid). <paramref name="cacheDirectory"/> null turns the cache off. Throws
        /// <see cref="BtfFormatException"/> for corrupt BTF, the client's exceptions for failed reads.
        /// </summary>
        public static async Task<KernelBtfLoad?> LoadFromTargetAsync(KernelDebugClient client, SymbolTable symbols, string? cacheDirectory,
            IProgress<long>? progress, CancellationToken ct)
        {
            if (client == null) throw new ArgumentNullException(nameof(client));
            if (symbols == null) throw new ArgumentNullException(nameof(symbols));
            if (!symbols.TryGetAddress("__start_BTF", out ulong start) || !symbols.TryGetAddress("__stop_BTF", out ulong stop)) return null;
            if (stop <= start || stop - start > MaxTargetBtfBytes)
                throw new BtfFormatException($"__start_BTF 0x{start:x} .. __stop_BTF 0x{stop:x} is not a plausible BTF section (do the symbols belong to this kernel?)");
            int length = (int)(stop - start);
            var watch = Stopwatch.StartNew();

            string? cacheFile = null;
            if (cacheDirectory != null && symbols.TryGetAddress("linux_banner", out ulong bannerAddress))
            {
                byte[] banner = await client.ReadMemoryAsync(bannerAddress, BannerBytes, null, ct).ConfigureAwait(false);
                int end = Array.IndexOf(banner, (byte)0);
                cacheFile = System.IO.Path.Combine(cacheDirectory, Sha256Hex(banner, end < 0 ? banner.Length : end) + ".btf");
                KernelBtfLoad? cached = TryLoadCache(cacheFile, length, watch);
                if (cached != null) return cached;
            }

            byte[] data = await client.ReadMemoryAsync(start, length, progress, ct).ConfigureAwait(false);
            BtfTypeGraph graph = BtfTypeGraph.Parse(data);
            if (cacheFile != null) TryWriteCache(cacheFile, data);
            return new KernelBtfLoad(graph, "target", cacheFile, data.Length, watch.Elapsed);
        }

        private static KernelBtfLoad? TryLoadCache(string file, int length, Stopwatch watch)
        {
            try
            {
                var info = new FileInfo(file);
                if (!info.Exists || info.Length != length) return null;
                byte[] data = File.ReadAllBytes(file);
                return new KernelBtfLoad(BtfTypeGraph.Parse(data), "cache", file, data.Length, watch.Elapsed);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is BtfFormatException)
            {
                return null; // unreadable or damaged: the target's own copy replaces it
            }
        }

        private static void TryWriteCache(string file, byte[] data)
        {
            string temporary = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
                File.WriteAllBytes(temporary, data);
                if (File.Exists(file)) File.Delete(file);
                File.Move(temporary, file);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Another session wrote it first, or the cache is not writable: the next connect reads the target again.
                try { File.Delete(temporary); } catch (Exception d) when (d is IOException || d is UnauthorizedAccessException) { }
            }
        }

        private static string Sha256Hex(byte[] data, int length)
        {
            using var sha = SHA256.Create();
            byte[] hash = sha.ComputeHash(data, 0, length);
            var sb = new System.Text.StringBuilder(64);
            foreach (byte b in hash) sb.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            return sb.ToString();
        }
    }
}
