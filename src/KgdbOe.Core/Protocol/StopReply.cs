using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.Protocol
{
    /// <summary>A parsed stop reply: S05, T05thread:1;watch:ffff...;, W00, X09.</summary>
    internal sealed class StopReply
    {
        private StopReply(char kind, int signal, IReadOnlyDictionary<string, string> fields)
        {
            Kind = kind;
            Signal = signal;
            Fields = fields;
        }

        public char Kind { get; }
        public int Signal { get; }
        public IReadOnlyDictionary<string, string> Fields { get; }

        public string? Thread => Fields.TryGetValue("thread", out string? t) ? t : null;

        /// <summary>The data address of a watchpoint stop, when the stub names it.</summary>
        public ulong? WatchAddress
        {
            get
            {
                foreach (string key in new[] { "watch", "rwatch", "awatch" })
                    if (Fields.TryGetValue(key, out string? v) && Hex.TryParseNumber(v, out ulong a)) return a;
                return null;
            }
        }

        public bool IsExit => Kind == 'W' || Kind == 'X';

        public static bool TryParse(string payload, out StopReply? reply)
        {
            reply = null;
            if (!Replies.IsStop(payload)) return false;
            int signal = int.Parse(payload.Substring(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            if (payload[0] == 'T')
            {
                foreach (string part in payload.Substring(3).Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    int colon = part.IndexOf(':');
                    if (colon <= 0) continue;
                    fields[part.Substring(0, colon)] = part.Substring(colon + 1);
                }
            }
            reply = new StopReply(payload[0], signal, fields);
            return true;
        }
    }
}
