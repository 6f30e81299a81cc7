using System;
using System.Globalization;

namespace KgdbOe.Client
{
    /// <summary>Where a target listens: "udp:127.0.0.1:31337", "tcp:host:port", or "host:port" (UDP).</summary>
    public sealed class TargetEndpoint
    {
        public TargetEndpoint(TransportKind transport, string host, int port)
        {
            if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("The host is empty.", nameof(host));
            if (port < 1 || port > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "A port is 1..65535.");
            Transport = transport;
            Host = host;
            Port = port;
        }

        public TransportKind Transport { get; }
        public string Host { get; }
        public int Port { get; }

        public static TargetEndpoint Parse(string s)
        {
            if (s == null) throw new ArgumentNullException(nameof(s));
            string text = s.Trim();
            TransportKind kind = TransportKind.Udp;
            int colon = text.IndexOf(':');
            if (colon > 0)
            {
                string scheme = text.Substring(0, colon);
                if (scheme.Equals("udp", StringComparison.OrdinalIgnoreCase)) { kind = TransportKind.Udp; text = text.Substring(colon + 1); }
                else if (scheme.Equals("tcp", StringComparison.OrdinalIgnoreCase)) { kind = TransportKind.Tcp; text = text.Substring(colon + 1); }
            }
            int last = text.LastIndexOf(':');
            if (last <= 0 || last == text.Length - 1)
                throw new FormatException($"'{s}' is not an endpoint: expected [udp:|tcp:]host:port.");
            string host = text.Substring(0, last);
            if (host.StartsWith("[", StringComparison.Ordinal) && host.EndsWith("]", StringComparison.Ordinal))
                host = host.Substring(1, host.Length - 2);
            if (!int.TryParse(text.Substring(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
                throw new FormatException($"'{s}' has no valid port (1..65535).");
            return new TargetEndpoint(kind, host, port);
        }

        public static bool TryParse(string? s, out TargetEndpoint? endpoint)
        {
            endpoint = null;
            if (s == null) return false;
            try { endpoint = Parse(s); return true; }
            catch (FormatException) { return false; }
            catch (ArgumentException) { return false; }
        }

        public override string ToString()
        {
            string host = Host.IndexOf(':') >= 0 ? "[" + Host + "]" : Host;
            return (Transport == TransportKind.Udp ? "udp:" : "tcp:") + host + ":" + Port.ToString(CultureInfo.InvariantCulture);
        }
    }
}
