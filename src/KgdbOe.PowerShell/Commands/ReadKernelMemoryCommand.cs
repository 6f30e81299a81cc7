using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Reads target memory. Large reads stream as several blocks of -BlockSize bytes, so the first
    /// rows show (and the pipeline works) while the rest is still being read; -AsByteArray returns
    /// one byte[] instead.
    /// </summary>
    [Cmdlet(VerbsCommunications.Read, "KernelMemory")]
    [OutputType(typeof(KernelMemoryBlock), typeof(byte[]))]
    public sealed class ReadKernelMemoryCommand : KernelTargetCmdlet
    {
        /// <summary>A number, hex text or symbol+offset.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>How many bytes to read.</summary>
        [Parameter(Position = 1)]
        [Alias("Count", "Size")]
        [ValidateRange(1, int.MaxValue)]
        public long Length { get; set; } = 128;

        /// <summary>The size of each block a large read is streamed in.</summary>
        [Parameter]
        [ValidateRange(1, 1 << 24)]
        public int BlockSize { get; set; } = 4096;

        /// <summary>Return one byte[] instead of KernelMemoryBlock objects.</summary>
        [Parameter]
        public SwitchParameter AsByteArray { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong start = Resolve(session, Address);

            if (AsByteArray)
            {
                byte[] bytes = Call(session, Address, ErrorCategory.ReadError,
                    (client, ct) => client.ReadMemoryAsync(start, checked((int)Length), null, ct));
                WriteObject(bytes, enumerateCollection: false);
                return;
            }

            for (long done = 0; done < Length; done += BlockSize)
            {
                ulong address = unchecked(start + (ulong)done);
                int size = (int)Math.Min(BlockSize, Length - done);
                byte[] bytes = Call(session, Show(session, address), ErrorCategory.ReadError,
                    (client, ct) => client.ReadMemoryAsync(address, size, null, ct));
                WriteObject(new KernelMemoryBlock(session, address, bytes));
            }
        }
    }
}
