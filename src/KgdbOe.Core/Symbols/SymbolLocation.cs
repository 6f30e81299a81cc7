using System.Globalization;

namespace KgdbOe.Symbols
{
    /// <summary>An address expressed as symbol + offset.</summary>
    public sealed class SymbolLocation
    {
        public SymbolLocation(string name, ulong symbolAddress, ulong offset)
        {
            Name = name;
            SymbolAddress = symbolAddress;
            Offset = offset;
        }

        public string Name { get; }
        public ulong Offset { get; }
        public ulong SymbolAddress { get; }

        public override string ToString() => Offset == 0 ? Name : Name + "+0x" + Offset.ToString("x", CultureInfo.InvariantCulture);
    }
}
