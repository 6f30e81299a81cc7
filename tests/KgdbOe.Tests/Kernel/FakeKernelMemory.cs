using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Kernel;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>Kernel memory as a few byte regions; a read outside them fails like the stub's E14. Counts reads.</summary>
    internal sealed class FakeKernelMemory : IKernelMemory
    {
        private readonly List<(ulong Start, byte[] Bytes)> _regions = new List<(ulong, byte[])>();

        public int Reads { get; private set; }

        public byte[] Add(ulong start, int length)
        {
            var bytes = new byte[length];
            _regions.Add((start, bytes));
            return bytes;
        }

        public void Write64(ulong address, ulong value) => BitConverter.GetBytes(value).CopyTo(Span(address, 8, write: true));

        public void Write32(ulong address, uint value) => BitConverter.GetBytes(value).CopyTo(Span(address, 4, write: true));

        public void Write(ulong address, byte[] bytes) => bytes.CopyTo(Span(address, bytes.Length, write: true));

        public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct)
        {
            Reads++;
            return Task.FromResult(Span(address, length, write: false).ToArray());
        }

        private Span<byte> Span(ulong address, int length, bool write)
        {
            foreach ((ulong start, byte[] bytes) in _regions)
                if (address >= start && address + (ulong)length <= start + (ulong)bytes.Length)
                    return bytes.AsSpan((int)(address - start), length);
            if (write) throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:x} is in no region");
            throw new TargetErrorException($"reading {length} bytes at 0x{address:x16}: E14", 14, address);
        }
    }
}
