using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// The line kgdboe prints once it listens, read back from the kernel log:
    /// "kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 mode=multi-core irqs=11 txqs=1 owner=builtin".
    /// Unknown keys are kept, missing ones left empty, so a newer module does not break the parser.
    /// </summary>
    internal sealed class ReadyLine
    {
        public const string Marker = "kgdboe: ready ";

        private ReadyLine(IDictionary<string, string> fields, string text)
        {
            Fields = fields;
            Text = text;
        }

        public IDictionary<string, string> Fields { get; }

        public string Text { get; }

        public string Device => Get("dev");

        public string DeviceIp => Get("ip");

        public int DevicePort => int.TryParse(Get("port"), NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : 0;

        public string Mode => Get("mode");

        /// <summary>irqs=11 or irqs=24,25,26; "none" or "-" for a device without its own IRQ.</summary>
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

        public int TxQueues => int.TryParse(Get("txqs"), NumberStyles.None, CultureInfo.InvariantCulture, out int q) ? q : 0;

        public string Owner => Get("owner");

        /// <summary>Finds the last ready line in kernel log text (dmesg may prefix timestamps).</summary>
        public static ReadyLine? FindIn(string log)
        {
            ReadyLine? found = null;
            foreach (var line in log.Split('\n'))
            {
                int at = line.IndexOf(Marker, StringComparison.Ordinal);
                if (at >= 0) found = Parse(line.Substring(at).Trim());
            }
            return found;
        }

        private static ReadyLine Parse(string text)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var token in text.Substring(Marker.Length).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = token.IndexOf('=');
                if (eq > 0) fields[token.Substring(0, eq)] = token.Substring(eq + 1);
            }
            return new ReadyLine(fields, text);
        }

        private string Get(string key) => Fields.TryGetValue(key, out var v) ? v : "";
    }
}
