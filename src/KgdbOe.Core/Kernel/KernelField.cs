using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// A member of a struct or union as a typed object shows it: members of anonymous struct/union members are lifted into
    /// their parent (as C lets you name them), with offsets relative to the outer object.
    /// </summary>
    public sealed class KernelField
    {
        internal KernelField(string name, KernelType type, ulong bitOffset, uint bitFieldSize)
        {
            Name = name;
            Type = type;
            BitOffset = bitOffset;
            BitFieldSize = bitFieldSize;
        }

        /// <summary>The member's name.</summary>
        public string Name { get; }

        /// <summary>The member's declared type.</summary>
        public KernelType Type { get; }

        /// <summary>Offset from the start of the outer object, in bits.</summary>
        public ulong BitOffset { get; }

        /// <summary>Width in bits for a bit field, else 0.</summary>
        public uint BitFieldSize { get; }

        /// <summary>Offset in whole bytes.</summary>
        public ulong Offset => BitOffset / 8;

        /// <inheritdoc/>
        public override string ToString() => Type.DisplayName + " " + Name;
    }
}
