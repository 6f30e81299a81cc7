using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Reads the kernel log from the printk ring buffer (like dmesg, but from a stopped kernel): sequence, time since boot,
    /// level, caller, text. -Last reads only the newest records; -Since takes a time since boot (TimeSpan) or a wall-clock
    /// time (DateTime, turned into time since boot with the guest's own realtime offset).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelLog")]
    [OutputType(typeof(KernelLogRecord))]
    public sealed class GetKernelLogCommand : KernelObjectCmdlet
    {
        /// <summary>Only the newest N records.</summary>
        [Parameter(Position = 0)]
        [ValidateRange(0, int.MaxValue)]
        public int? Last { get; set; }

        /// <summary>Only records at or after this: a TimeSpan (since boot) or a DateTime (wall clock).</summary>
        [Parameter]
        public object? Since { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            KernelContext context = GetContext(session);
            PrintkLog log = Kernel(session, "struct printk_ringbuffer", () => new PrintkLog(context));
            TimeSpan? offset = null;
            try { offset = Kernel(session, "tk_core", ct => log.ReadRealtimeOffsetAsync(ct)); }
            catch (KgdbOeErrorException e) when (e.ErrorRecord.FullyQualifiedErrorId != KgdbOeErrorId.InvalidState)
            {
                WriteVerbose("The guest's wall-clock offset cannot be read, so records have no TimeCreated: " + e.Message);
            }

            TimeSpan? since = null;
            object? value = Since is PSObject pso ? pso.BaseObject : Since;
            switch (value)
            {
                case null: break;
                case TimeSpan span: since = span; break;
                case DateTime time:
                    if (offset == null)
                        throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Since,
                            "The guest's wall clock (tk_core.timekeeper.offs_real) cannot be read, so a -Since date cannot be placed: give the time since boot as a TimeSpan.");
                    since = time.ToUniversalTime() - UnixEpoch - offset.Value;
                    break;
                case string text when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan parsed): since = parsed; break;
                default:
                    throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Since,
                        $"-Since takes a TimeSpan (time since boot, as in (New-TimeSpan -Seconds 30)) or a DateTime, not '{Since}'.");
            }

            IReadOnlyList<KernelLogRecord> records = Kernel(session, "prb", ct => log.ReadAsync(Last, since, offset, ct));
            foreach (KernelLogRecord record in records) WriteObject(record);
        }

        private static readonly DateTime UnixEpoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    }
}
