using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Unwind
{
    /// <summary>Reads a stopped target's memory (the debug client on a live target, a byte map in tests).</summary>
    public interface ITargetMemory
    {
        /// <summary>
        /// Reads <paramref name="length"/> bytes at virtual <paramref name="address"/>.
        /// Throws (a <see cref="KgdbOe.Client.TargetErrorException"/> on a live target) when the memory cannot be read.
        /// </summary>
        Task<byte[]> ReadAsync(ulong address, int length, CancellationToken ct);
    }
}
