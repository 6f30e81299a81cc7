using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Unwind
{
    /// <summary>The memory of a target stopped under a <see cref="KernelDebugClient"/>.</summary>
    public sealed class ClientMemory : ITargetMemory
    {
        private readonly KernelDebugClient _client;

        public ClientMemory(KernelDebugClient client) => _client = client ?? throw new ArgumentNullException(nameof(client));

        public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct) => _client.ReadMemoryAsync(address, length, null, ct);
    }
}
