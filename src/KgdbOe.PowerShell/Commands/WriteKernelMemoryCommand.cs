using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Writes bytes, or one little-endian value, to target memory. A block from Read-KernelMemory
    /// piped back in writes its bytes where it came from (a saved copy restores memory).
    /// </summary>
    [Cmdlet(VerbsCommunications.Write, "KernelMemory", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
        DefaultParameterSetName = ByBytes)]
    [OutputType(typeof(void))]
    public sealed class WriteKernelMemoryCommand : KernelTargetCmdlet
    {
        private const string ByBytes = "Bytes";
        private const string ByValue = "Value";

        /// <summary>Where to write: a number, hex text or symbol+offset.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>The bytes to write.</summary>
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByBytes, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public byte[] Bytes { get; set; } = Array.Empty<byte>();

        /// <summary>A value to write little-endian in -Size bytes.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByValue)]
        public ulong Value { get; set; }

        /// <summary>With -Value: how many bytes to write.</summary>
        [Parameter(ParameterSetName = ByValue)]
        [ValidateSet("1", "2", "4", "8")]
        public int Size { get; set; } = 8;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong address = Resolve(session, Address);
            byte[] data = ParameterSetName == ByValue ? LittleEndian(Value, Size) : Bytes;

            if (ParameterSetName == ByValue && Size < 8 && Value >> (Size * 8) != 0)
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Value,
                    $"0x{Value:x} does not fit in {Size} bytes.");

            string where = Show(session, address);
            if (!ShouldProcess(where, $"Write {data.Length} bytes")) return;
            Call(session, where, ErrorCategory.WriteError, (client, ct) => client.WriteMemoryAsync(address, data, ct));
        }

        private static byte[] LittleEndian(ulong value, int size)
        {
            var bytes = new byte[size];
            for (int i = 0; i < size; i++) bytes[i] = (byte)(value >> (8 * i));
            return bytes;
        }
    }
}
