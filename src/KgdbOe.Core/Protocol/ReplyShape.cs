using System;

namespace KgdbOe.Protocol
{
    /// <summary>
    /// What a valid answer to one request looks like. Over a lossy link a late or duplicated reply to an
    /// earlier request may arrive while we wait; checking the shape keeps it from being taken as ours.
    /// </summary>
    internal sealed class ReplyShape
    {
        private readonly Func<string, bool> _accepts;

        private ReplyShape(string name, bool isOkType, Func<string, bool> accepts, bool isStop = false)
        {
            Name = name;
            IsOkType = isOkType;
            _accepts = accepts;
            _isStop = isStop;
        }

        private readonly bool _isStop;

        public string Name { get; }

        /// <summary>Replies are only "OK"/"Exx": one such reply cannot be told from another.</summary>
        public bool IsOkType { get; }

        public bool Accepts(string payload) =>
            _isStop ? Replies.IsStop(payload) : !Replies.IsStop(payload) && !Replies.IsConsole(payload) && _accepts(payload);

        /// <summary>The answer to '?': a stop reply.</summary>
        public static readonly ReplyShape StopReply = new ReplyShape("stop reply", false, Replies.IsStop, isStop: true);

        /// <summary>OK, an error, or empty (unsupported).</summary>
        public static readonly ReplyShape OkOrError = new ReplyShape("OK", true, p => p == "OK" || p.Length == 0 || Replies.IsError(p));

        /// <summary>Exactly this many hex digits, or an error, or empty.</summary>
        public static ReplyShape HexDigits(int count) =>
            new ReplyShape($"{count} hex digits", false, p => (p.Length == count && Hex.IsHex(p)) || p.Length == 0 || Replies.IsError(p));

        /// <summary>Some hex digits (registers whose count the dialect does not know yet), or an error.</summary>
        public static readonly ReplyShape AnyHex = new ReplyShape("hex", false, p => (p.Length > 0 && p.Length % 2 == 0 && Hex.IsHex(p)) || p.Length == 0 || Replies.IsError(p));

        /// <summary>Anything that is not a stop reply or console output.</summary>
        public static readonly ReplyShape Any = new ReplyShape("any", false, p => true);

        /// <summary>A thread list chunk: m..., l, or empty (KGDB ends the list with an empty reply).</summary>
        public static readonly ReplyShape ThreadList = new ReplyShape("thread list", false, p => p.Length == 0 || p == "l" || p[0] == 'm' || Replies.IsError(p));

        /// <summary>QC followed by a thread id.</summary>
        public static readonly ReplyShape CurrentThread = new ReplyShape("QC", false, p => p.StartsWith("QC", StringComparison.Ordinal) || p.Length == 0 || Replies.IsError(p));

        public static ReplyShape Custom(string name, Func<string, bool> accepts) => new ReplyShape(name, false, accepts);
    }
}
