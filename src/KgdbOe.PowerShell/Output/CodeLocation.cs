using KgdbOe.Disassembly;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell
{
    /// <summary>Names code addresses for stacks and disassembly: the session's rules, with functions before section markers.</summary>
    internal static class CodeLocation
    {
        /// <summary>"name+0x1f" as <see cref="KernelTargetSession.Describe"/> gives it, a function's name where a section marker shares its address.</summary>
        public static string? Describe(KernelTargetSession session, ulong address)
        {
            string? plain = session.Describe(address);
            if (plain == null || session.Symbols == null) return plain;
            SymbolLocation? location = session.Symbols.Lookup(address);
            return location == null ? plain : FunctionExtents.PreferFunctionName(session.Symbols, location).ToString();
        }

        /// <summary>
        /// A return address named as the kernel's %pB does (lib/vsprintf.c, sprint_backtrace): by the symbol of
        /// address-1, so a call that is the last instruction of a noreturn function (start_secondary) is not
        /// shown as the start of the next one.
        /// </summary>
        public static string? DescribeReturnAddress(KernelTargetSession session, ulong address)
        {
            if (address == 0 || session.Symbols == null || session.Describe(address - 1) == null) return Describe(session, address);
            SymbolLocation? location = session.Symbols.Lookup(address - 1);
            if (location == null) return Describe(session, address);
            SymbolLocation named = FunctionExtents.PreferFunctionName(session.Symbols, location);
            return new SymbolLocation(named.Name, named.SymbolAddress, named.Offset + 1).ToString();
        }
    }
}
