using System;
using System.Globalization;

namespace KgdbOe.Protocol
{
    /// <summary>Recognisers for the reply kinds every request may meet.</summary>
    internal static class Replies
    {
        /// <summary>"Enn": KGDB writes errno as two decimal digits, other stubs hex; we keep the digits as written.</summary>
        public static bool IsError(string p) => p.Length == 3 && p[0] == 'E' && Hex.Value(p[1]) >= 0 && Hex.Value(p[2]) >= 0;

        public static int ErrorCode(string p) =>
            int.TryParse(p.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out int decimalCode)
                ? decimalCode
                : Convert.ToInt32(p.Substring(1), 16);

        /// <summary>Stop replies: S05, T05thread:..;, W00 (exited), X09 (killed).</summary>
        public static bool IsStop(string p) =>
            p.Length >= 3 && (p[0] == 'S' || p[0] == 'T' || p[0] == 'W' || p[0] == 'X') && Hex.Value(p[1]) >= 0 && Hex.Value(p[2]) >= 0;

        /// <summary>"O" followed by hex text is console output, not a reply (but "OK" is a reply).</summary>
        public static bool IsConsole(string p) => p.Length >= 3 && p[0] == 'O' && (p.Length - 1) % 2 == 0 && Hex.IsHex(p, 1);
    }
}
