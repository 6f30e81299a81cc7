using System;
using System.Globalization;
using System.Net;

namespace KgdbOe.Tools.LossyUdpProxy
{
    /// <summary>What the proxy does to each datagram, in percent, and how late it delivers.</summary>
    public sealed class ProxyOptions
    {
        public IPEndPoint Listen { get; set; } = new IPEndPoint(IPAddress.Loopback, 0);
        public IPEndPoint Target { get; set; } = new IPEndPoint(IPAddress.Loopback, 31337);
        public double LossPercent { get; set; }
        public double DuplicatePercent { get; set; }
        /// <summary>Held back long enough that the next datagram overtakes it.</summary>
        public double ReorderPercent { get; set; }
        public int DelayMinMs { get; set; }
        public int DelayMaxMs { get; set; }
        public int Seed { get; set; } = 1;

        public static ProxyOptions Parse(string[] args)
        {
            var o = new ProxyOptions();
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--listen": o.Listen = ParseEndPoint(Value()); break;
                    case "--target": o.Target = ParseEndPoint(Value()); break;
                    case "--loss": o.LossPercent = Percent(Value()); break;
                    case "--dup": o.DuplicatePercent = Percent(Value()); break;
                    case "--reorder": o.ReorderPercent = Percent(Value()); break;
                    case "--delay-ms":
                        string[] range = Value().Split('-');
                        o.DelayMinMs = int.Parse(range[0], CultureInfo.InvariantCulture);
                        o.DelayMaxMs = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : o.DelayMinMs;
                        if (o.DelayMinMs < 0 || o.DelayMaxMs < o.DelayMinMs) throw new ArgumentException("--delay-ms wants MIN-MAX with 0 <= MIN <= MAX.");
                        break;
                    case "--seed": o.Seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException($"Unknown option '{args[i]}'. Options: --listen IP:PORT --target IP:PORT --loss % --dup % --reorder % --delay-ms MIN-MAX --seed N");
                }
            }
            return o;
        }

        private static double Percent(string s)
        {
            double v = double.Parse(s, CultureInfo.InvariantCulture);
            if (v < 0 || v > 100) throw new ArgumentException($"'{s}' is not a percentage (0..100).");
            return v;
        }

        private static IPEndPoint ParseEndPoint(string s) =>
            IPEndPoint.TryParse(s, out IPEndPoint? ep) ? ep : throw new ArgumentException($"'{s}' is not IP:PORT.");
    }
}
