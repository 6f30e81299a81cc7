using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Unwind;

namespace KgdbOe.Tests.Unwind
{
    /// <summary>Target memory made of byte regions; reading outside them fails like an EFAULT reply.</summary>
    internal sealed class FakeMemory : ITargetMemory
    {
        private readonly List<(ulong Start, byte[] Bytes)> _regions = new List<(ulong, byte[])>();

        public int Reads { get; private set; }

        public byte[] Map(ulong start, int length)
        {
            var bytes = new byte[length];
            _regions.Add((start, bytes));
            return bytes;
        }

        public void WriteUInt64(ulong address, ulong value) => Write(address, BitConverter.GetBytes(value));
        public void WriteInt32(ulong address, int value) => Write(address, BitConverter.GetBytes(value));

        public void Write(ulong address, byte[] data)
        {
            foreach ((ulong start, byte[] bytes) in _regions)
                if (address >= start && address + (ulong)data.Length <= start + (ulong)bytes.Length)
                {
                    Buffer.BlockCopy(data, 0, bytes, (int)(address - start), data.Length);
                    return;
                }
            throw new InvalidOperationException($"0x{address:x} is not mapped in the test.");
        }

        public Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct)
        {
            Reads++;
            foreach ((ulong start, byte[] bytes) in _regions)
                if (address >= start && address + (ulong)length <= start + (ulong)bytes.Length)
                {
                    var result = new byte[length];
                    Buffer.BlockCopy(bytes, (int)(address - start), result, 0, length);
                    return Task.FromResult(result);
                }
            throw new KgdbOe.Client.TargetErrorException($"reading {length} bytes at 0x{address:x} failed: EFAULT.", 14, address, "m");
        }
    }
}
