using System;

namespace KgdbOe.Bridge
{
    /// <summary>
    /// Read-ahead for an RSP client that reads memory in order (gdb's <c>dump memory</c>, <c>x/1000x</c>):
    /// gdb sends one small <c>m</c> at a time and waits for each answer, which leaves a lossy link's
    /// repairs nothing to overlap with. When a read starts where the previous one ended, the bridge reads
    /// <see cref="Size"/> bytes at once through the fast path (many requests in flight) and answers the
    /// next reads from them. The bytes are valid only while the kernel stays stopped and nothing is
    /// written: the owner calls <see cref="Clear"/> on every resume and every request that is not a read.
    /// Not thread-safe: the bridge answers one request at a time.
    /// </summary>
    internal sealed class ReadAhead
    {
        /// <summary>Bytes read at once when reads run in order (256 KiB: sixteen fast-path requests, one window).</summary>
        public const int Size = 256 * 1024;

        private ulong _start;
        private byte[] _data = Array.Empty<byte>();
        private ulong _lastEnd;
        private bool _haveLast;

        /// <summary>The cached bytes for [address, address + length), or null when they are not all cached.</summary>
        public byte[]? TryGet(ulong address, int length)
        {
            if (_data.Length == 0 || address < _start) return null;
            ulong offset = address - _start;
            if (offset + (ulong)length > (ulong)_data.Length) return null;
            var bytes = new byte[length];
            Buffer.BlockCopy(_data, (int)offset, bytes, 0, length);
            Remember(address, length);
            return bytes;
        }

        /// <summary>How much to read for a request of length bytes at address: Size when it follows the last read.</summary>
        public int LengthToRead(ulong address, int length) =>
            _haveLast && address == _lastEnd && length < Size ? Size : length;

        /// <summary>Keeps the bytes read at address (the request's own length first, maybe more) and notes the request.</summary>
        public void Store(ulong address, byte[] data, int length)
        {
            _start = address;
            _data = data;
            Remember(address, length);
        }

        /// <summary>Forgets the bytes (the kernel ran, or memory or registers may have changed).</summary>
        public void Clear()
        {
            _data = Array.Empty<byte>();
            _haveLast = false;
        }

        private void Remember(ulong address, int length)
        {
            _lastEnd = unchecked(address + (ulong)length);
            _haveLast = true;
        }
    }
}
