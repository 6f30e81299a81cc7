using System.Globalization;

namespace KgdbOe.PowerShell
{
    /// <summary>A kernel symbol at its run-time address (KASLR slide applied); pipe it to memory cmdlets.</summary>
    public sealed class KernelSymbol
    {
        internal KernelSymbol(KernelTargetSession target, string name, ulong address, ulong offset = 0)
        {
            Target = target;
            Name = name;
            Address = address;
            Offset = offset;
        }

        public KernelTargetSession Target { get; }
        public string Name { get; }

        /// <summary>Where the symbol starts.</summary>
        public ulong Address { get; }

        /// <summary>For an address lookup: how far the asked address is past the symbol.</summary>
        public ulong Offset { get; }

        public override string ToString() =>
            Offset == 0 ? Name : Name + "+0x" + Offset.ToString("x", CultureInfo.InvariantCulture);
    }
}
