using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// Where typed reads get their bytes: the stopped kernel through the debug client, or a byte image in tests.
    /// Each call is one request for <c>length</c> contiguous bytes; the client splits it into the stub's packets.
    /// </summary>
    public interface IKernelMemory
    {
        /// <summary>
        /// Reads <paramref name="length"/> bytes at <paramref name="address"/>. Throws
        /// <see cref="TargetErrorException"/> when the memory is not readable (the stub's E14/E22), and
        /// InvalidOperationException when the kernel runs.
        /// </summary>
        Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct);
    }

    /// <summary>Reads through a <see cref="KernelDebugClient"/> (the kernel must be stopped).</summary>
    public sealed class ClientKernelMemory : IKernelMemory
    {
        private readonly KernelDebugClient _client;

        /// <summary>Reads with <paramref name="client"/>.</summary>
        public ClientKernelMemory(KernelDebugClient client) => _client = client ?? throw new ArgumentNullException(nameof(client));

        /// <inheritdoc/>
        public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct) => _client.ReadMemoryAsync(address, length, null, ct);
    }
}
