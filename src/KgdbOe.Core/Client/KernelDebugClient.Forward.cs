using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;

namespace KgdbOe.Client
{
    public sealed partial class KernelDebugClient
    {
        /// <summary>
        /// Sends one request that the client does not interpret itself (for a relay such as the gdb
        /// bridge) to the stopped target and returns the payload of its reply ("" for an unsupported
        /// request, "Enn" for an error: the caller judges). The request goes through the same
        /// lossy-link machinery as the client's own: it is resent when its reply is lost, so only
        /// idempotent requests belong here (g, G, p, P, m, M, X, H, T, Z, z, qC, qThreadExtraInfo,
        /// other q queries). Run control ('?', c, s, C, S, vCont, D, k, R) is refused with an
        /// <see cref="ArgumentException"/>: use the client's own methods, which keep its state.
        /// </summary>
        /// <param name="payload">The request without framing, e.g. "g" or "Z0,ffffffff81000000,1".</param>
        /// <param name="ct">Cancels the wait.</param>
        /// <exception cref="InvalidOperationException">The target is not stopped.</exception>
        /// <exception cref="TargetTimeoutException">No reply after every resend.</exception>
        public async Task<string> ForwardRequestAsync(string payload, CancellationToken ct)
        {
            if (payload == null) throw new ArgumentNullException(nameof(payload));
            if (payload.Length == 0 || IsRunControl(payload))
                throw new ArgumentException($"'{Hex.Truncate(payload)}' is run control or empty: use the client's own methods.", nameof(payload));
            EnsureStopped("forward a request");
            return await _session.RequestAsync(payload, ShapeOf(payload), ct).ConfigureAwait(false);
        }

        private static bool IsRunControl(string p)
        {
            char c = p[0];
            return c == '?' || c == 'c' || c == 's' || c == 'C' || c == 'S' || c == 'D' || c == 'k' || c == 'R' ||
                   (c == '3' && p.Length == 1) || p.StartsWith("vCont", StringComparison.Ordinal) ||
                   p.StartsWith("vKill", StringComparison.Ordinal);
        }

        /// <summary>Hex-encoded text (a thread's name), empty, or an error: never a late "QC..." or "OK".</summary>
        private static readonly ReplyShape HexText = ReplyShape.Custom("hex text", p => p.Length == 0 || Replies.IsError(p) || (p.Length % 2 == 0 && Hex.IsHex(p)));

        /// <summary>What a valid reply looks like, so a late reply to an earlier request is not taken.</summary>
        private static ReplyShape ShapeOf(string p)
        {
            switch (p[0])
            {
                case 'g':
                case 'p':
                case 'm':
                    return ReplyShape.AnyHex;
                case 'G':
                case 'P':
                case 'M':
                case 'X':
                case 'H':
                case 'T':
                case 'Z':
                case 'z':
                    return ReplyShape.OkOrError;
            }
            if (p == "qfThreadInfo" || p == "qsThreadInfo") return ReplyShape.ThreadList;
            if (p == "qC") return ReplyShape.CurrentThread;
            if (p.StartsWith("qThreadExtraInfo", StringComparison.Ordinal)) return HexText;
            return ReplyShape.Any;
        }
    }
}
