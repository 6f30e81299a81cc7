using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Dialects;
using KgdbOe.Kernel;

namespace KgdbOe.Capture
{
    /// <summary>
    /// What a capture needs of a stopped kernel: its memory (small reads, and long reads handed over in address order)
    /// and each CPU's registers. The live implementation is <see cref="ClientCoreTarget"/>; tests use byte images.
    /// </summary>
    public interface ICoreTarget : IKernelMemory
    {
        /// <summary>
        /// Reads <paramref name="length"/> bytes at virtual <paramref name="address"/>, handing each chunk to
        /// <paramref name="onChunk"/> in address order as it arrives. Throws <see cref="TargetErrorException"/> at the
        /// first unreadable chunk (the chunks before it have been handed over).
        /// </summary>
        Task ReadStreamAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, CancellationToken ct);

        /// <summary>The registers of CPU <paramref name="cpu"/> (as the debugger saw them when it stopped the CPU), by gdb's names.</summary>
        Task<IReadOnlyDictionary<string, ulong>> ReadCpuRegistersAsync(int cpu, CancellationToken ct);
    }

    /// <summary>
    /// A stopped kernel through a <see cref="KernelDebugClient"/>: reads go through the client's public memory reads
    /// (which keep several requests in flight and take the fastest path the target offers); CPU registers from KGDB's
    /// shadow CPU threads (or QEMU's vCPU threads).
    /// </summary>
    public sealed class ClientCoreTarget : ICoreTarget
    {
        private readonly KernelDebugClient _client;

        /// <summary>Reads through <paramref name="client"/> (the kernel must be stopped).</summary>
        public ClientCoreTarget(KernelDebugClient client) => _client = client ?? throw new ArgumentNullException(nameof(client));

        /// <inheritdoc/>
        public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct) => _client.ReadMemoryAsync(address, length, null, ct);

        /// <inheritdoc/>
        public Task ReadStreamAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, CancellationToken ct) =>
            _client.ReadMemoryAsync(address, length, onChunk, null, ct);

        /// <inheritdoc/>
        public async Task<IReadOnlyDictionary<string, ulong>> ReadCpuRegistersAsync(int cpu, CancellationToken ct)
        {
            string thread = _client.Kind == TargetKind.Kgdb ? ThreadIds.ForKgdbCpu(cpu) : (cpu + 1).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
            RegisterSet set = await _client.ReadRegistersAsync(thread, ct).ConfigureAwait(false);
            var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (Register r in set) result[r.Name] = r.Value;
            return result;
        }
    }
}
