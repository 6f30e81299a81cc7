using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;

namespace KgdbOe.Client
{
    public sealed partial class KernelDebugClient
    {
        /// <summary>CPUs and tasks as the stub lists them, with names from qThreadExtraInfo.</summary>
        public async Task<IReadOnlyList<TargetThread>> GetThreadsAsync(CancellationToken ct)
        {
            EnsureStopped("list threads");
            var ids = new List<string>();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            string reply = await _session.RequestAsync(Requests.FirstThreads, ReplyShape.ThreadList, ct).ConfigureAwait(false);
            for (int guard = 0; guard < 100000; guard++)
            {
                if (Replies.IsError(reply)) throw Error("listing threads", "qfThreadInfo", reply, null);
                if (reply.Length == 0 || reply == "l") break;
                int added = 0;
                foreach (string id in reply.Substring(1).Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries))
                    if (seen.Add(id)) { ids.Add(id); added++; }
                // Note: the KGDB stub pages with state (ks->thr_query), so a resent qsThreadInfo skips a page
                // on a lossy link; duplicates are dropped here, a skipped page cannot be detected.
                reply = await _session.RequestAsync(Requests.NextThreads, ReplyShape.ThreadList, ct).ConfigureAwait(false);
            }
            var threads = new List<TargetThread>(ids.Count);
            foreach (string id in ids)
                threads.Add(_dialect.ParseThread(id, await ThreadNameAsync(id, ct).ConfigureAwait(false)));
            return threads;
        }

        /// <summary>The name of one thread (task comm on KGDB, "CPU#0 [running]" on QEMU), null if the stub has none.</summary>
        public async Task<string?> GetThreadNameAsync(string threadId, CancellationToken ct)
        {
            if (threadId == null) throw new ArgumentNullException(nameof(threadId));
            EnsureStopped("name a thread");
            return await ThreadNameAsync(threadId, ct).ConfigureAwait(false);
        }

        private async Task<string?> ThreadNameAsync(string id, CancellationToken ct)
        {
            string extra = await _session.RequestAsync(Requests.ThreadExtraInfo(id), ReplyShape.Custom("hex text", p => p.Length == 0 || Replies.IsError(p) || (p.Length % 2 == 0 && Hex.IsHex(p))), ct).ConfigureAwait(false);
            return extra.Length > 0 && !Replies.IsError(extra) ? Encoding.UTF8.GetString(Hex.Decode(extra)).TrimEnd('\0') : null;
        }

        /// <summary>A monitor command (kdb on KGDB, the QEMU monitor on QEMU); returns its output.</summary>
        public async Task<string> InvokeMonitorCommandAsync(string command, CancellationToken ct)
        {
            if (command == null) throw new ArgumentNullException(nameof(command));
            EnsureStopped("run a monitor command");
            var output = new StringBuilder();
            void Collect(object? sender, string text) { lock (output) output.Append(text); }
            ConsoleOutput += Collect;
            try
            {
                string packet = Requests.MonitorCommand(command);
                string reply = await _session.RequestAsync(packet, ReplyShape.Any, ct).ConfigureAwait(false);
                if (reply.Length == 0) throw new NotSupportedException($"{Endpoint} does not run monitor commands (qRcmd got an empty reply; KGDB needs KGDB_KDB).");
                if (Replies.IsError(reply)) throw Error($"monitor command '{command}'", packet, reply, null);
                if (reply != "OK" && Hex.IsHex(reply) && reply.Length % 2 == 0)
                    output.Append(Encoding.UTF8.GetString(Hex.Decode(reply)));
                lock (output) return output.ToString();
            }
            finally
            {
                ConsoleOutput -= Collect;
            }
        }
    }
}
