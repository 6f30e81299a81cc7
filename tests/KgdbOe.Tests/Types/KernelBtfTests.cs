using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using KgdbOe.Tests.Session;
using KgdbOe.Types;
using Xunit;

namespace KgdbOe.Tests.Types
{
    /// <summary>
    /// A kernel's BTF read from its memory (__start_BTF..__stop_BTF) through the client, against the simulated stub,
    /// and the cache keyed by linux_banner: the second load reads no BTF from the target.
    /// </summary>
    [Collection(nameof(SerialFaultInjection))]
    public sealed class KernelBtfTests : IDisposable
    {
        private const ulong Banner = SimulatedKgdbStub.MemoryBase;
        private const ulong BtfStart = SimulatedKgdbStub.MemoryBase + 0x1000;
        private static readonly TargetEndpoint Endpoint = TargetEndpoint.Parse("udp:127.0.0.1:31337");
        private readonly string _cache = Path.Combine(Path.GetTempPath(), "kgdboe-btf-test-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(_cache)) Directory.Delete(_cache, true);
        }

        private static byte[] Blob()
        {
            var b = new BtfBuilder();
            int ui = b.AddInt("unsigned int", 4);
            b.AddStruct("list_head", 16, ("next", 3, 0, 0), ("prev", 3, 64, 0));
            b.AddRef(BtfBuilder.Ptr, 2);
            b.AddStruct("task_struct", 24, ("tasks", 2, 0, 0), ("pid", ui, 128, 0));
            return b.Build();
        }

        private static byte[] Memory(byte[] blob, string banner)
        {
            var memory = new byte[0x1000 + blob.Length + 64];
            Encoding.ASCII.GetBytes(banner + "\0").CopyTo(memory, 0);
            blob.CopyTo(memory, 0x1000);
            return memory;
        }

        private static SymbolTable Symbols(int btfLength, bool withBtf = true) => SymbolTable.FromKallsyms(
            $"{Banner:x16} D linux_banner\n" +
            (withBtf ? $"{BtfStart:x16} R __start_BTF\n{BtfStart + (ulong)btfLength:x16} R __stop_BTF\n" : "") +
            $"{SimulatedKgdbStub.MemoryBase + 0x8000:x16} T _etext\n");

        private static async Task<KernelBtfLoad?> LoadAsync(byte[] memory, SymbolTable symbols, string? cache)
        {
            using var stub = new SimulatedKgdbStub(new FaultPolicy(1), memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            var options = new ConnectOptions { RequestTimeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 20, Kind = TargetKind.Kgdb };
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, options, cts.Token);
            return await KernelBtf.LoadFromTargetAsync(client, symbols, cache, null, cts.Token);
        }

        [Fact]
        public async Task Reads_the_target_once_then_takes_the_cache_for_the_same_banner()
        {
            byte[] blob = Blob();
            byte[] memory = Memory(blob, "Linux version 6.12.0-test (gcc) #1 SMP");
            KernelBtfLoad first = (await LoadAsync(memory, Symbols(blob.Length), _cache))!;
            Assert.Equal("target", first.Origin);
            Assert.Equal(blob.Length, first.Bytes);
            Assert.Equal(24UL, first.Graph.FindStruct("task_struct")!.Size);
            string file = Assert.Single(Directory.GetFiles(_cache, "*.btf"));
            Assert.Equal(blob, File.ReadAllBytes(file));
            Assert.Equal(file, first.Path);

            // The same banner with the BTF gone from memory: only the cache can give the types now.
            Array.Clear(memory, 0x1000, blob.Length);
            KernelBtfLoad second = (await LoadAsync(memory, Symbols(blob.Length), _cache))!;
            Assert.Equal("cache", second.Origin);
            Assert.Equal(16UL, second.Graph.FindStruct("list_head")!.Size);

            // Another kernel (another banner) does not get this kernel's cache: it reads its own (here: zeros).
            byte[] other = Memory(new byte[blob.Length], "Linux version 6.1.0-other");
            await Assert.ThrowsAsync<BtfFormatException>(() => LoadAsync(other, Symbols(blob.Length), _cache));
        }

        [Fact]
        public async Task A_damaged_cache_file_is_replaced_by_the_target_s_copy()
        {
            byte[] blob = Blob();
            byte[] memory = Memory(blob, "Linux version 6.12.0-test");
            await LoadAsync(memory, Symbols(blob.Length), _cache);
            string file = Assert.Single(Directory.GetFiles(_cache, "*.btf"));
            byte[] damaged = File.ReadAllBytes(file);
            damaged[0] = 0;
            File.WriteAllBytes(file, damaged);
            KernelBtfLoad again = (await LoadAsync(memory, Symbols(blob.Length), _cache))!;
            Assert.Equal("target", again.Origin);
            Assert.Equal(blob, File.ReadAllBytes(file));
        }

        [Fact]
        public async Task A_kernel_without_BTF_symbols_gives_null_and_no_cache()
        {
            byte[] blob = Blob();
            Assert.Null(await LoadAsync(Memory(blob, "Linux version x"), Symbols(blob.Length, withBtf: false), _cache));
            Assert.False(Directory.Exists(_cache));
            KernelBtfLoad uncached = (await LoadAsync(Memory(blob, "Linux version x"), Symbols(blob.Length), cache: null))!;
            Assert.Equal(("target", (string?)null), (uncached.Origin, uncached.Path));
        }
    }
}
