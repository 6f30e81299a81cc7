using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;
using KgdbOe.Session;

namespace KgdbOe.Client
{
    public sealed partial class KernelDebugClient
    {
        /// <summary>Reads length bytes at address in chunks the stub accepts.</summary>
        public async Task<byte[]> ReadMemoryAsync(ulong address, int length, IProgress<long>? progress, CancellationToken ct)
        {
            if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "The length cannot be negative.");
            var result = new byte[length];
            await ReadMemoryAsync(address, length, (a, chunk) =>
            {
                Buffer.BlockCopy(chunk, 0, result, (int)(a - address), chunk.Length);
                return Task.CompletedTask;
            }, progress, ct).ConfigureAwait(false);
            return result;
        }

        /// <summary>Reads length bytes at address and hands each chunk over in address order as it arrives.</summary>
        public async Task ReadMemoryAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, IProgress<long>? progress, CancellationToken ct)
        {
            if (onChunk == null) throw new ArgumentNullException(nameof(onChunk));
            if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "The length cannot be negative.");
            if (length > 0 && address + (ulong)(length - 1) < address)
                throw new ArgumentOutOfRangeException(nameof(length), $"{HexAddress(address)} + {length} wraps around the address space.");
            EnsureStopped("read memory");
            if (UseFastMemoryPath && length > 0)
            {
                await _wire!.ReadMemoryAsync(address, length, onChunk, progress, ct).ConfigureAwait(false);
                return;
            }
            long done = 0;
            if (_session.ShouldPipelineRead(length, _dialect.MaxReadChunk, _options.ReadWindow))
                done = await ReadPipelinedAsync(address, length, onChunk, progress, ct).ConfigureAwait(false);
            while (done < length)
            {
                ct.ThrowIfCancellationRequested();
                int chunk = NextReadChunk(length - done);
                ulong at = address + (ulong)done;
                byte[] bytes = await ReadChunkAsync(at, chunk, ct).ConfigureAwait(false);
                await onChunk(at, bytes).ConfigureAwait(false);
                done += chunk;
                progress?.Report(done);
            }
        }

        /// <summary>
        /// Reads with ReadWindow requests in flight, in batches so a long read starts handing over chunks at
        /// once. Returns how many bytes were read; an error reply ends it early (the rest is read one request
        /// at a time, which tells exactly where the error is).
        /// </summary>
        private async Task<long> ReadPipelinedAsync(ulong address, long length, Func<ulong, byte[], Task> onChunk, IProgress<long>? progress, CancellationToken ct)
        {
            const int batchBytes = 256 * 1024;
            long done = 0;
            while (done < length)
            {
                var chunks = new List<(ulong At, int Length)>();
                var requests = new List<PipelinedRequest>();
                for (long planned = done; planned < length && planned - done < batchBytes;)
                {
                    int chunk = NextReadChunk(length - planned);
                    ulong at = address + (ulong)planned;
                    chunks.Add((at, chunk));
                    requests.Add(new PipelinedRequest(Requests.ReadMemory(at, chunk), ReplyShape.HexDigits(chunk * 2)));
                    planned += chunk;
                }
                int delivered = await _session.RequestPipelinedAsync(requests, _options.ReadWindow, async (i, reply) =>
                {
                    Statistics.AddBytesRead(chunks[i].Length);
                    await onChunk(chunks[i].At, Hex.Decode(reply)).ConfigureAwait(false);
                    done += chunks[i].Length;
                    progress?.Report(done);
                }, ct).ConfigureAwait(false);
                if (delivered < requests.Count) break;
            }
            return done;
        }

        /// <summary>The next read's length: the session's choice (it varies them where a late reply can come again).</summary>
        private int NextReadChunk(long remaining) => _session.NextReadLength(remaining, _dialect.MaxReadChunk);

        private async Task<byte[]> ReadChunkAsync(ulong address, int length, CancellationToken ct)
        {
            string command = Requests.ReadMemory(address, length);
            string reply = await _session.RequestAsync(command, ReplyShape.HexDigits(length * 2), ct).ConfigureAwait(false);
            if (Replies.IsError(reply)) throw Error($"reading {length} bytes at {HexAddress(address)}", command, reply, address);
            if (reply.Length == 0) throw new GdbProtocolException($"{Endpoint}: reading memory at {HexAddress(address)} is not supported (empty reply).", command);
            Statistics.AddBytesRead(length);
            return Hex.Decode(reply);
        }

        public async Task WriteMemoryAsync(ulong address, byte[] data, CancellationToken ct)
        {
            if (data == null) throw new ArgumentNullException(nameof(data));
            EnsureStopped("write memory");
            int done = 0;
            while (done < data.Length)
            {
                ct.ThrowIfCancellationRequested();
                int chunk = Math.Min(_dialect.MaxWriteChunk, data.Length - done);
                ulong at = address + (ulong)done;
                string command = Requests.WriteMemory(at, data, done, chunk);
                string reply = await _session.RequestAsync(command, ReplyShape.OkOrError, ct).ConfigureAwait(false);
                if (Replies.IsError(reply)) throw Error($"writing {chunk} bytes at {HexAddress(at)}", Hex.Truncate(command, 40), reply, at);
                if (reply != "OK") throw new GdbProtocolException($"{Endpoint}: writing memory at {HexAddress(at)} is not supported (reply '{reply}').", Hex.Truncate(command, 40));
                Statistics.AddBytesWritten(chunk);
                done += chunk;
            }
        }
    }
}
