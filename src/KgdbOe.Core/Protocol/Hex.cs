using System;
using System.Text;

namespace KgdbOe.Protocol
{
    /// <summary>Hex text as the protocol writes it: lower case, two digits per byte, numbers big-endian.</summary>
    internal static class Hex
    {
        private const string Digits = "0123456789abcdef";

        public static int Value(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }

        public static bool IsHex(string s, int start = 0)
        {
            for (int i = start; i < s.Length; i++) if (Value(s[i]) < 0) return false;
            return true;
        }

        public static string Encode(ReadOnlySpan<byte> bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (byte b in bytes) { sb.Append(Digits[b >> 4]); sb.Append(Digits[b & 15]); }
            return sb.ToString();
        }

        public static string Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

        /// <summary>Decodes hex digits; returns false on an odd length or a non-hex character.</summary>
        public static bool TryDecode(string s, int start, int length, out byte[] bytes)
        {
            bytes = Array.Empty<byte>();
            if (length < 0 || (length & 1) != 0 || start + length > s.Length) return false;
            var result = new byte[length / 2];
            for (int i = 0; i < result.Length; i++)
            {
                int hi = Value(s[start + 2 * i]), lo = Value(s[start + 2 * i + 1]);
                if (hi < 0 || lo < 0) return false;
                result[i] = (byte)((hi << 4) | lo);
            }
            bytes = result;
            return true;
        }

        public static byte[] Decode(string s)
        {
            if (!TryDecode(s, 0, s.Length, out byte[] bytes))
                throw new FormatException($"'{Truncate(s)}' is not hex.");
            return bytes;
        }

        public static string Number(ulong value) => value.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

        public static bool TryParseNumber(string s, out ulong value)
        {
            value = 0;
            if (s.Length == 0 || s.Length > 16) return false;
            foreach (char c in s)
            {
                int v = Value(c);
                if (v < 0) return false;
                value = (value << 4) | (uint)v;
            }
            return true;
        }

        public static string Truncate(string s, int max = 80) => s.Length <= max ? s : s.Substring(0, max) + "…";
    }
}
