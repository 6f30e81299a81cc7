using System;
using System.Globalization;
using KgdbOe.Client;

namespace KgdbOe.Dialects
{
    /// <summary>Tells the stubs apart by their answer to qSupported.</summary>
    internal static class DialectDetector
    {
        public static ITargetDialect FromQSupported(string reply)
        {
            // The x86 kernel stub answers qSupported with an empty packet.
            if (reply.Length == 0) return new KgdbDialect();
            int packetSize = 4096;
            foreach (string feature in reply.Split(';'))
            {
                if (feature.StartsWith("PacketSize=", StringComparison.Ordinal) &&
                    int.TryParse(feature.Substring(11), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int size))
                    packetSize = size;
            }
            // gdbserver advertises process-level features QEMU has no use for.
            if (reply.Contains("QPassSignals") || reply.Contains("qXfer:libraries") || reply.Contains("QCatchSyscalls"))
                return new GdbServerDialect(packetSize);
            return new QemuDialect(packetSize);
        }

        public static ITargetDialect ForKind(TargetKind kind) => kind switch
        {
            TargetKind.Kgdb => new KgdbDialect(),
            TargetKind.GdbServer => new GdbServerDialect(4096),
            _ => new QemuDialect(4096),
        };
    }
}
