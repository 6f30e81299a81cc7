using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// The base of the cmdlets that talk to a connected kernel: the -Target parameter (by pipeline
    /// property name too, so stops, symbols and breakpoints carry their session along) and the
    /// default session of the runspace when -Target is left out.
    /// </summary>
    public abstract class KernelTargetCmdlet : KgdbOeCmdlet
    {
        /// <summary>The session to use; the most recently connected one when omitted.</summary>
        [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNull]
        public KernelTargetSession? Target { get; set; }

        /// <summary>The session this record talks to.</summary>
        protected KernelTargetSession Session
        {
            get
            {
                KernelTargetSession? session = Target ?? SessionRegistry.Current.Default;
                if (session == null)
                    throw Fail(KgdbOeErrorId.NoSession, ErrorCategory.ConnectionError, null,
                        "No kernel target is connected: use Connect-KernelTarget, or pass -Target.");
                if (session.IsClosed)
                    throw Fail(KgdbOeErrorId.SessionClosed, ErrorCategory.ResourceUnavailable, session,
                        $"The session '{session.Name}' is closed: connect again with Connect-KernelTarget.");
                return session;
            }
        }

        /// <summary>Resolves an address against the session's symbols (KgdbOe.BadAddress / KgdbOe.UnknownSymbol on failure).</summary>
        protected ulong Resolve(KernelTargetSession session, KernelAddress address) =>
            AddressResolver.Resolve(address, session.Symbols, name => session.FindModuleSymbol(name, null)?.Address);

        /// <summary>
        /// Calls the target, turning protocol failures into error records about <paramref name="errorTarget"/>.
        /// <paramref name="targetErrorCategory"/> says what an error reply means here (ReadError for a read...).
        /// </summary>
        protected T Call<T>(KernelTargetSession session, object? errorTarget, ErrorCategory targetErrorCategory,
            Func<KernelDebugClient, CancellationToken, Task<T>> operation)
        {
            try
            {
                return Await(ct => operation(session.Client, ct));
            }
            catch (Exception e) when (!(e is PipelineStoppedException) &&
                                      RemoteErrors.ToErrorRecord(e, errorTarget ?? session, targetErrorCategory) is ErrorRecord record)
            {
                throw new KgdbOeErrorException(record);
            }
        }

        protected void Call(KernelTargetSession session, object? errorTarget, ErrorCategory targetErrorCategory,
            Func<KernelDebugClient, CancellationToken, Task> operation) =>
            Call(session, errorTarget, targetErrorCategory, async (client, ct) =>
            {
                await operation(client, ct).ConfigureAwait(false);
                return true;
            });

        /// <summary>An address as users read it: "symbol+0x10 (0xffffffff81000010)".</summary>
        protected static string Show(KernelTargetSession session, ulong address)
        {
            string hex = "0x" + address.ToString("x16");
            return session.Describe(address) is string name ? $"{name} ({hex})" : hex;
        }

        /// <summary>
        /// Waits for the next stop; a negative timeout waits for good (in slices, since the client
        /// takes a finite timeout). Ctrl-C ends the wait either way.
        /// </summary>
        protected KernelStop WaitForStop(KernelTargetSession session, double timeoutSeconds)
        {
            while (true)
            {
                TimeSpan slice = timeoutSeconds < 0 ? TimeSpan.FromHours(1) : TimeSpan.FromSeconds(timeoutSeconds);
                try
                {
                    StopEvent stop = Call(session, session, ErrorCategory.InvalidOperation, (client, ct) => client.WaitForStopAsync(slice, ct));
                    return new KernelStop(session, stop);
                }
                catch (KgdbOeErrorException e) when (timeoutSeconds < 0 && e.ErrorRecord.FullyQualifiedErrorId == KgdbOeErrorId.Timeout)
                {
                }
            }
        }
    }
}
