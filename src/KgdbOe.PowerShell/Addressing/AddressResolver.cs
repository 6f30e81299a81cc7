using System;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell
{
    /// <summary>Resolves <see cref="KernelAddress"/> text against a session's symbols.</summary>
    internal static class AddressResolver
    {
        /// <summary>
        /// Rules: "0x..." is hex; bare hex digits are a symbol if one has that name ("add"), else hex;
        /// "name", "name+0x10", "name+16", "name-8" are symbol-relative (decimal unless 0x).
        /// A backtick inside hex is ignored (DbgShell's ffffffff`81000000).
        /// </summary>
        public static ulong Resolve(KernelAddress address, SymbolTable? symbols) => Resolve(address, symbols, null);

        /// <summary>As above; a name vmlinux lacks is looked up by <paramref name="moduleSymbol"/> (a loaded module's, or null).</summary>
        public static ulong Resolve(KernelAddress address, SymbolTable? symbols, Func<string, ulong?>? moduleSymbol)
        {
            if (address.Value is ulong value) return value;

            string text = address.Text!.Trim();
            if (text.Length == 0) throw BadAddress(address, "An address is empty.");

            if (TryParseHex(text, out ulong hex, out bool prefixed) && (prefixed || symbols == null || !symbols.TryGetAddress(text, out _)))
                return hex;

            int sign = text.IndexOfAny(new[] { '+', '-' }, 1);
            string name = sign < 0 ? text : text.Substring(0, sign).Trim();
            long offset = 0;
            if (sign >= 0 && !TryParseOffset(text.Substring(sign + 1).Trim(), out offset))
                throw BadAddress(address, $"'{text}' has no valid offset after '{text[sign]}': use name+0x10 or name+16.");
            if (text.Length > 0 && sign >= 0 && text[sign] == '-') offset = -offset;

            if (!IsSymbolName(name))
                throw BadAddress(address, $"'{text}' is not an address: use a number, hex (0xffffffff81000000) or symbol+offset.");
            if (symbols == null)
                throw new KgdbOeErrorException(new ErrorRecord(
                    new ItemNotFoundException($"Cannot resolve '{name}': the session has no symbols. Connect with -SystemMap, -Vmlinux or -Kallsyms."),
                    KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, address.Text));
            ulong symbolAddress;
            if (!symbols.TryGetAddress(name, out symbolAddress) && !(moduleSymbol?.Invoke(name) is ulong inModule && (symbolAddress = inModule) != 0))
                throw new KgdbOeErrorException(new ErrorRecord(
                    new ItemNotFoundException($"The symbol '{name}' is not in the session's symbols nor in a loaded module's (for a module not loaded yet, give -Module)."),
                    KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, address.Text));

            return unchecked(symbolAddress + (ulong)offset);
        }

        private static bool TryParseHex(string text, out ulong value, out bool prefixed)
        {
            prefixed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            string digits = (prefixed ? text.Substring(2) : text).Replace("`", "");
            value = 0;
            return digits.Length > 0 && digits.Length <= 16 &&
                   ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        private static bool TryParseOffset(string text, out long offset)
        {
            offset = 0;
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                return long.TryParse(text.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out offset) && offset >= 0;
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }

        // Kernel symbol names: C identifiers plus the '.' and '$' that compilers add (foo.constprop.0).
        private static bool IsSymbolName(string name) =>
            name.Length > 0 && !char.IsDigit(name[0]) && name.All(c => char.IsLetterOrDigit(c) || c == '_' || c == '.' || c == '$');

        private static KgdbOeErrorException BadAddress(KernelAddress address, string message) =>
            new KgdbOeErrorException(new ErrorRecord(new ArgumentException(message), KgdbOeErrorId.BadAddress, ErrorCategory.InvalidArgument, address.Text));
    }
}
