using System;

namespace KgdbOe.Capture
{
    /// <summary>Why a kernel core could not be written.</summary>
    public enum KernelCoreFailure
    {
        /// <summary>The kernel has no vmcoreinfo (no vmcoreinfo_data/vmcoreinfo_size symbols, or an empty buffer: built without VMCORE_INFO / CRASH_CORE).</summary>
        NoVmcoreInfo,

        /// <summary>The resource tree lists no "System RAM" range.</summary>
        NoSystemRam,

        /// <summary>The disk is full.</summary>
        DiskFull,
    }

    /// <summary>A capture that cannot be (or was not) completed; <see cref="Failure"/> says why.</summary>
    public sealed class KernelCoreException : Exception
    {
        /// <summary>A failure of kind <paramref name="failure"/>.</summary>
        public KernelCoreException(KernelCoreFailure failure, string message, Exception? inner = null) : base(message, inner) => Failure = failure;

        /// <summary>Why.</summary>
        public KernelCoreFailure Failure { get; }
    }
}
