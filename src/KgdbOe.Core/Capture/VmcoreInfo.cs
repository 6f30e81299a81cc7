using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace KgdbOe.Capture
{
    /// <summary>
    /// The kernel's vmcoreinfo text: "KEY=value" lines that crash, drgn and makedumpfile read (kernel/vmcore_info.c in
    /// 6.12, kernel/crash_core.c in 6.1; the x86-64 lines from arch/x86/kernel/vmcore_info_64.c / crash_core_64.c).
    /// </summary>
    public sealed class VmcoreInfo
    {
        private readonly Dictionary<string, string> _values = new Dictionary<string, string>(StringComparer.Ordinal);

        /// <summary>Parses <paramref name="data"/> (the bytes at vmcoreinfo_data, vmcoreinfo_size long).</summary>
        public VmcoreInfo(byte[] data)
        {
            Data = data ?? throw new ArgumentNullException(nameof(data));
            string text = Encoding.ASCII.GetString(data);
            foreach (string line in text.Split('\n'))
            {
                int eq = line.IndexOf('=');
                if (eq > 0 && !_values.ContainsKey(line.Substring(0, eq))) _values[line.Substring(0, eq)] = line.Substring(eq + 1);
            }
        }

        /// <summary>The raw text, as the VMCOREINFO note carries it.</summary>
        public byte[] Data { get; }

        /// <summary>The kernel release (OSRELEASE), or null.</summary>
        public string? Release => Get("OSRELEASE");

        /// <summary>A value by key ("OSRELEASE", "NUMBER(phys_base)", "SYMBOL(swapper_pg_dir)"), or null.</summary>
        public string? Get(string key) => _values.TryGetValue(key, out string? v) ? v : null;

        /// <summary>KERNELOFFSET (hex; the KASLR slide of the kernel text), or null.</summary>
        public ulong? KernelOffset => Hex(Get("KERNELOFFSET"));

        /// <summary>NUMBER(phys_base) (decimal, as VMCOREINFO_NUMBER prints it), or null.</summary>
        public ulong? PhysBase => Decimal(Get("NUMBER(phys_base)"));

        /// <summary>PAGESIZE, or null.</summary>
        public ulong? PageSize => Decimal(Get("PAGESIZE"));

        private static ulong? Hex(string? s) =>
            s != null && ulong.TryParse(s.Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong v) ? v : (ulong?)null;

        private static ulong? Decimal(string? s)
        {
            if (s == null) return null;
            if (ulong.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)) return v;
            if (long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return unchecked((ulong)n);
            return null;
        }
    }
}
