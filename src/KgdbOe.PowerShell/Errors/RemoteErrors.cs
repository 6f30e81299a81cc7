using System;
using System.Management.Automation;
using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>Turns the protocol client's exceptions into error records with stable ids.</summary>
    internal static class RemoteErrors
    {
        /// <param name="targetErrorCategory">What an error reply from the stub means for this operation
        /// (ReadError for a read, WriteError for a write...).</param>
        public static ErrorRecord? ToErrorRecord(Exception e, object? target, ErrorCategory targetErrorCategory)
        {
            switch (e)
            {
                case TargetTimeoutException _:
                    return new ErrorRecord(e, KgdbOeErrorId.Timeout, ErrorCategory.OperationTimeout, target);
                case TargetErrorException _:
                    // The client's message already says what failed, where, and names the errno.
                    return new ErrorRecord(e, KgdbOeErrorId.TargetError, targetErrorCategory, target);
                case TargetConnectionException _:
                    return new ErrorRecord(e, KgdbOeErrorId.ConnectionFailed, ErrorCategory.ConnectionError, target);
                case GdbProtocolException _:
                    return new ErrorRecord(e, KgdbOeErrorId.ProtocolError, ErrorCategory.ProtocolError, target);
                case GdbRemoteException _:
                    return new ErrorRecord(e, KgdbOeErrorId.ProtocolError, ErrorCategory.ProtocolError, target);
                case ObjectDisposedException _:
                    return new ErrorRecord(
                        new InvalidOperationException("The target session is closed: connect again with Connect-KernelTarget.", e),
                        KgdbOeErrorId.SessionClosed, ErrorCategory.ResourceUnavailable, target);
                case InvalidOperationException _:
                    return new ErrorRecord(e, KgdbOeErrorId.InvalidState, ErrorCategory.InvalidOperation, target);
                default:
                    return null;
            }
        }
    }
}
