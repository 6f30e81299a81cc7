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
    }
}
