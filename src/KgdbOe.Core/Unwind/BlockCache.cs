using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Unwind
{
    /// <summary>
    /// Target memory read in aligned blocks, each block read once: a backtrace touches the same stack
    /// lines and table pages again and again. Not for memory that changes while it is cached (a stack is
    /// only cached for one unwind of a stopped target; the ORC tables never change after boot).
    /// </summary>
    public sealed class BlockCache
    {
        private readonly ITargetMemory _memory;
        private readonly int _blockSize;

        // Guards _blocks: a session's cmdlets may run on several runspaces at once.
        private readonly object _gate = new object();
        private readonly Dictionary<ulong, byte[]> _blocks = new Dictionary<ulong, byte[]>();

        /// <param name="memory">Where the bytes come from.</param>
        /// <param name="blockSize">Bytes per read, a power of two.</param>
        public BlockCache(ITargetMemory memory, int blockSize)
        {
            _memory = memory ?? throw new ArgumentNullException(nameof(memory));
            if (blockSize <= 0 || (blockSize & (blockSize - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "A power of two.");
            _blockSize = blockSize;
        }

        /// <summary>How many blocks were read from the target so far.</summary>
        public int BlocksRead { get { lock (_gate) return _blocks.Count; } }

        /// <summary>Reads <paramref name="length"/> bytes at <paramref name="address"/> through the cache.</summary>
        public async Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct)
        {
            var result = new byte[length];
            int done = 0;
            while (done < length)
            {
                ulong at = address + (ulong)done;
                ulong block = at & ~(ulong)(_blockSize - 1);
                byte[] bytes = await BlockAsync(block, ct).ConfigureAwait(false);
                int from = (int)(at - block);
                int n = Math.Min(_blockSize - from, length - done);
                Buffer.BlockCopy(bytes, from, result, done, n);
                done += n;
            }
            return result;
        }

        public async Task<ulong> ReadUInt64Async(ulong address, CancellationToken ct) =>
            BitConverter.ToUInt64(await ReadAsync(address, 8, ct).ConfigureAwait(false), 0);

        public async Task<int> ReadInt32Async(ulong address, CancellationToken ct) =>
            BitConverter.ToInt32(await ReadAsync(address, 4, ct).ConfigureAwait(false), 0);

        private async Task<byte[]> BlockAsync(ulong block, CancellationToken ct)
        {
            lock (_gate)
                if (_blocks.TryGetValue(block, out byte[]? cached)) return cached;
            byte[] bytes = await _memory.ReadAsync(block, _blockSize, ct).ConfigureAwait(false);
            if (bytes.Length != _blockSize) throw new InvalidOperationException($"Read {bytes.Length} bytes at 0x{block:x}, asked for {_blockSize}.");
            lock (_gate) _blocks[block] = bytes;
            return bytes;
        }
    }
}
