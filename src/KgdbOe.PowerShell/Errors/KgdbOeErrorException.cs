using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Carries a finished <see cref="ErrorRecord"/> from deep inside a cmdlet up to the base class,
    /// which writes it as a non-terminating error: one failed input never ends the pipeline.
    /// </summary>
    public sealed class KgdbOeErrorException : Exception, IContainsErrorRecord
    {
        public KgdbOeErrorException(ErrorRecord errorRecord)
            : base(errorRecord.Exception.Message, errorRecord.Exception)
        {
            ErrorRecord = errorRecord;
        }

        public ErrorRecord ErrorRecord { get; }
    }
}
