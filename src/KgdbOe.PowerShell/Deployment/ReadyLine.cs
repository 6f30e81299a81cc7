using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// The line kgdboe prints once it listens, read back from the kernel log:
    /// "kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 mode=multi-core irqs=11 txqs=1 owner=builtin"
    /// (printed by module-c/kgdboe_main.c). Unknown keys are kept, missing ones left empty, so a
    /// newer module does not break the parser. The one parser of that line: Install-KgdboeModule
    /// uses it, and scripts and tests reach it as
    /// <c>[KgdbOe.PowerShell.Deployment.ReadyLine]::FindIn($dmesg)</c> once the module is imported.
    /// </summary>
    public sealed class ReadyLine
    {
        /// <summary>The text that starts the line, after any dmesg timestamp: "kgdboe: ready ".</summary>
        public const string Marker = "kgdboe: ready ";

        private readonly Dictionary<string, string> _fields;

        private ReadyLine(Dictionary<string, string> fields, string text)
        {
            _fields = fields;
            Text = text;
        }

        /// <summary>Every key=value pair of the line, keys as printed (case-sensitive).</summary>
        public IReadOnlyDictionary<string, string> Fields => _fields;

        /// <summary>The line from "kgdboe: ready" to its end, without a dmesg timestamp or trailing space.</summary>
        public string Text { get; }

        /// <summary>dev=: the network interface kgdboe uses; "" when absent.</summary>
        public string Device => Get("dev");

        /// <summary>ip=: the IPv4 address kgdboe answers on, as the target sees it; "" when absent.</summary>
        public string DeviceIp => Get("ip");

        /// <summary>port=: the UDP port kgdboe listens on in the target; 0 when absent or not a number.</summary>
        public int DevicePort => ParseCount(Get("port"));

        /// <summary>mode=: "multi-core" or "single-core"; "" when absent.</summary>
        public string Mode => Get("mode");

        /// <summary>
        /// irqs=11 or irqs=24,25,26: the NIC's interrupts kgdboe keeps off while stopped; empty for
        /// "none" or "-" (a device without its own IRQ) and for an absent key.
        /// </summary>
        public int[] Irqs
        {
            get
            {
                var irqs = new List<int>();
                foreach (var part in Get("irqs").Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int irq)) irqs.Add(irq);
                }
                return irqs.ToArray();
            }
        }

        /// <summary>txqs=: the NIC's transmit queues; 0 when absent or not a number.</summary>
        public int TxQueues => ParseCount(Get("txqs"));

        /// <summary>owner=: the module that owns the NIC driver, or "builtin"; "" when absent.</summary>
        public string Owner => Get("owner");

        /// <summary>
        /// Finds the last ready line in kernel log text (lines split on '\n'; a "[  12.345678] "
        /// timestamp or any other prefix before the marker is ignored). Null when there is none.
        /// </summary>
        /// <param name="log">dmesg output or any text; null is taken as empty.</param>
        public static ReadyLine? FindIn(string? log)
        {
            ReadyLine? found = null;
            if (log == null) return null;
            foreach (var line in log.Split('\n'))
            {
                int at = line.IndexOf(Marker, StringComparison.Ordinal);
                if (at >= 0) found = Parse(line.Substring(at).Trim());
            }
            return found;
        }

        /// <inheritdoc />
        public override string ToString() => Text;

        private static ReadyLine Parse(string text)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            string rest = text.Length > Marker.Length ? text.Substring(Marker.Length) : "";
            foreach (var token in rest.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = token.IndexOf('=');
                if (eq > 0) fields[token.Substring(0, eq)] = token.Substring(eq + 1);
            }
            return new ReadyLine(fields, text);
        }

        private static int ParseCount(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;

        private string Get(string key) => _fields.TryGetValue(key, out var v) ? v : "";
    }
}
