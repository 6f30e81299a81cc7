using System.Globalization;
using KgdbOe.Protocol;

namespace KgdbOe.Dialects
{
    internal static class ThreadIds
    {
        /// <summary>KGDB names CPU n's shadow thread -(n+2) as 32-bit hex: CPU0 = fffffffe.</summary>
        public static int? KgdbCpu(string id)
        {
            if (!Hex.TryParseNumber(id, out ulong v)) return null;
            if (v > 0xffffffffUL) return null;
            int signed = unchecked((int)(uint)v);
            return signed <= -2 ? -signed - 2 : (int?)null;
        }

        public static int? Pid(string id) =>
            Hex.TryParseNumber(id, out ulong v) && v <= int.MaxValue ? (int)v : (int?)null;

        public static string ForKgdbCpu(int cpu) => unchecked((uint)(-(cpu + 2))).ToString("x", CultureInfo.InvariantCulture);
    }
}
