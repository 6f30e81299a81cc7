using System;
using System.Globalization;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// A typed read that cannot be done; the subclasses say why. <see cref="Target"/> is what the message is about
    /// (a type name, "type.member", an address as 0x hex) so a PowerShell error record can name it.
    /// </summary>
    public abstract class KernelObjectException : Exception
    {
        private protected KernelObjectException(string message, string target, Exception? inner = null) : base(message, inner) => Target = target;

        /// <summary>The type, member or address the failure is about.</summary>
        public string Target { get; }

        internal static string Hex(ulong address) => "0x" + address.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>No type of that name in the kernel's BTF.</summary>
    public sealed class KernelTypeNotFoundException : KernelObjectException
    {
        /// <summary>About <paramref name="typeName"/>.</summary>
        public KernelTypeNotFoundException(string typeName, string? hint = null)
            : base($"The type '{typeName}' is not in the kernel's BTF.{(hint == null ? "" : " " + hint)}", typeName) => TypeName = typeName;

        /// <summary>The name that was asked for.</summary>
        public string TypeName { get; }
    }

    /// <summary>The type has no member of that name (anonymous struct/union members searched too).</summary>
    public sealed class KernelMemberNotFoundException : KernelObjectException
    {
        /// <summary>About <paramref name="member"/> of <paramref name="typeName"/>.</summary>
        public KernelMemberNotFoundException(string typeName, string member)
            : base($"The type '{typeName}' has no member '{member}'.", typeName + "." + member)
        {
            TypeName = typeName;
            Member = member;
        }

        /// <summary>The type that was searched.</summary>
        public string TypeName { get; }

        /// <summary>The member that is not there.</summary>
        public string Member { get; }
    }

    /// <summary>
    /// A pointer that does not lead to readable memory: null, not canonical, outside the kernel half, or refused by the
    /// stub (its E14/E22 reply is the inner exception).
    /// </summary>
    public sealed class KernelBadPointerException : KernelObjectException
    {
        /// <summary>About <paramref name="address"/>, read as <paramref name="what"/>.</summary>
        public KernelBadPointerException(ulong address, string what, string reason, Exception? inner = null)
            : base($"Cannot read {what} at {Hex(address)}: {reason}", Hex(address), inner) => Address = address;

        /// <summary>The bad address.</summary>
        public ulong Address { get; }
    }

    /// <summary>A list that comes back to an entry it already passed without reaching its head.</summary>
    public sealed class KernelListCycleException : KernelObjectException
    {
        /// <summary>The list at <paramref name="head"/> loops at <paramref name="node"/> after <paramref name="count"/> entries.</summary>
        public KernelListCycleException(ulong head, ulong node, int count)
            : base($"The list at {Hex(head)} loops: after {count} entries the node {Hex(node)} comes again without reaching the head.", Hex(node))
        {
            Head = head;
            Node = node;
            Count = count;
        }

        /// <summary>The list head.</summary>
        public ulong Head { get; }

        /// <summary>The node met twice.</summary>
        public ulong Node { get; }

        /// <summary>How many entries were passed before.</summary>
        public int Count { get; }
    }

    /// <summary>A kernel symbol the helper needs is missing (a kernel without it, or a session without symbols).</summary>
    public sealed class KernelSymbolNotFoundException : KernelObjectException
    {
        /// <summary>About <paramref name="symbol"/>.</summary>
        public KernelSymbolNotFoundException(string symbol, string? hint = null)
            : base($"The symbol '{symbol}' is not in the session's symbols.{(hint == null ? "" : " " + hint)}", symbol) => Symbol = symbol;

        /// <summary>The missing symbol.</summary>
        public string Symbol { get; }
    }

    /// <summary>The kernel's structures are not what the helper expects (a field missing in BTF, a value out of range).</summary>
    public sealed class KernelLayoutException : KernelObjectException
    {
        /// <summary>About <paramref name="target"/>.</summary>
        public KernelLayoutException(string message, string target) : base(message, target) { }
    }
}
