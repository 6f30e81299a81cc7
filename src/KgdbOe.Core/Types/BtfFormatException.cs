using System;

namespace KgdbOe.Types
{
    /// <summary>
    /// BTF data that is truncated, corrupt or of a shape this reader does not know. The message names the
    /// byte offset in the blob (or the type id) and what was wrong.
    /// </summary>
    [Serializable]
    public sealed class BtfFormatException : Exception
    {
        public BtfFormatException() { }

        public BtfFormatException(string message) : base(message) { }

        public BtfFormatException(string message, Exception innerException) : base(message, innerException) { }

        /// <summary>The byte offset in the BTF blob where the problem is, or -1 when it is not about one place.</summary>
        public long Offset { get; } = -1;

        internal BtfFormatException(long offset, string message)
            : base("BTF at offset 0x" + offset.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + ": " + message)
        {
            Offset = offset;
        }

        private BtfFormatException(System.Runtime.Serialization.SerializationInfo info, System.Runtime.Serialization.StreamingContext context)
            : base(info, context) { }
    }
}
