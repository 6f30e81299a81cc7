using System;
using System.Collections.Generic;
using System.Threading;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// The kernel log from a point on: a unique marker is written to /dev/kmsg before an action,
    /// and only the lines after it are read back, so old messages (an earlier failed load) are
    /// never taken for the answer to this one.
    /// </summary>
    internal sealed class KernelLogWindow
    {
        private readonly RemoteShell _shell;
        private readonly string _marker;

        private KernelLogWindow(RemoteShell shell, string marker)
        {
            _shell = shell;
            _marker = marker;
        }

        public static KernelLogWindow Open(RemoteShell shell, CancellationToken cancellation)
        {
            string marker = "kgdboe-deploy: mark " + Guid.NewGuid().ToString("N");
            shell.Run("echo " + ShellQuote.Quote(marker) + " > /dev/kmsg", TimeSpan.FromSeconds(30), cancellation);
            return new KernelLogWindow(shell, marker);
        }

        /// <summary>Kernel log lines written since the marker (without the marker itself).</summary>
        public IReadOnlyList<string> Read(CancellationToken cancellation)
        {
            var result = _shell.Run("dmesg", TimeSpan.FromSeconds(30), cancellation);
            var lines = new List<string>();
            bool after = false;
            foreach (var raw in result.Output.Split('\n'))
            {
                string line = raw.TrimEnd('\r');
                if (line.Contains(_marker))
                {
                    after = true;
                    lines.Clear();
                    continue;
                }
                if (after && line.Trim().Length > 0) lines.Add(line);
            }
            return lines;
        }

        /// <summary>Strips dmesg's "[   12.345678] " timestamp so a quoted reason reads cleanly.</summary>
        public static string WithoutTimestamp(string line)
        {
            string t = line.TrimStart();
            if (t.StartsWith("[", StringComparison.Ordinal))
            {
                int close = t.IndexOf(']');
                if (close > 0) return t.Substring(close + 1).Trim();
            }
            return t;
        }
    }
}
