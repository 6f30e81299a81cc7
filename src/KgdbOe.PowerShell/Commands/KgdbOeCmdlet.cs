using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// The base of every KgdbOe cmdlet: runs async work on the pipeline thread with Ctrl-C
    /// cancelling it, lets background callbacks write progress or verbose text safely, and turns
    /// failures into non-terminating error records with stable ids.
    /// Subclasses put their per-record work in <see cref="ProcessRecordCore"/>.
    /// </summary>
    public abstract class KgdbOeCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();

        // Work posted from other threads that must run on the pipeline thread (WriteProgress, WriteObject...).
        private readonly BlockingCollection<Action> _pipelineWork = new BlockingCollection<Action>();

        /// <summary>Cancelled when the user presses Ctrl-C or the pipeline stops.</summary>
        protected CancellationToken Cancellation => _stopping.Token;

        protected sealed override void ProcessRecord() => Guard(ProcessRecordCore);

        /// <summary>The work for one pipeline record. Throw <see cref="Fail"/>'s result to report an error.</summary>
        protected abstract void ProcessRecordCore();

        protected override void StopProcessing() => _stopping.Cancel();

        /// <summary>Runs <paramref name="action"/>, writing any failure as a non-terminating error.</summary>
        protected void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (KgdbOeErrorException e)
            {
                WriteError(e.ErrorRecord);
            }
            catch (Exception e) when (!(e is PipelineStoppedException) && TranslateException(e) is ErrorRecord record)
            {
                WriteError(record);
            }
        }

        /// <summary>Maps an unexpected exception to an error record, or null to let it propagate.</summary>
        protected virtual ErrorRecord? TranslateException(Exception e) =>
            RemoteErrors.ToErrorRecord(e, null, ErrorCategory.InvalidOperation);

        /// <summary>Builds the exception to throw for a failure; the base writes its record.</summary>
        protected static KgdbOeErrorException Fail(string errorId, ErrorCategory category, object? target, string message, Exception? inner = null)
        {
            var exception = category switch
            {
                ErrorCategory.ObjectNotFound => (Exception)new ItemNotFoundException(message, inner),
                ErrorCategory.InvalidArgument => new ArgumentException(message, inner),
                ErrorCategory.OperationTimeout => new TimeoutException(message, inner),
                _ => new InvalidOperationException(message, inner),
            };
            return new KgdbOeErrorException(new ErrorRecord(exception, errorId, category, target));
        }

        /// <summary>
        /// Waits for async work on the pipeline thread. While waiting, runs what background threads
        /// posted with <see cref="PostToPipeline"/>. Ctrl-C cancels the work and ends the wait at
        /// once, even if the work ignores its token.
        /// </summary>
        protected T Await<T>(Func<CancellationToken, Task<T>> operation)
        {
            Task<T> task;
            try
            {
                task = operation(Cancellation);
            }
            catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }

            if (!task.IsCompleted)
            {
                Action wake = () => { };
                task.ContinueWith(_ => TryPost(wake), TaskContinuationOptions.ExecuteSynchronously);
                using (Cancellation.Register(() => TryPost(wake)))
                {
                    foreach (Action work in _pipelineWork.GetConsumingEnumerable())
                    {
                        if (ReferenceEquals(work, wake))
                        {
                            if (task.IsCompleted) break;
                            if (Cancellation.IsCancellationRequested)
                            {
                                // Abandoned: observe its exception so it is never reported as unobserved.
                                task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                                throw new PipelineStoppedException();
                            }
                            continue;
                        }
                        work();
                    }
                }
            }

            RunPostedWork();
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        protected void Await(Func<CancellationToken, Task> operation) =>
            Await(async ct => { await operation(ct).ConfigureAwait(false); return true; });

        /// <summary>Queues work for the pipeline thread; safe from any thread. Runs during the next <see cref="Await{T}"/>.</summary>
        protected void PostToPipeline(Action work) => TryPost(work);

        private void TryPost(Action work)
        {
            try { _pipelineWork.Add(work); }
            catch (ObjectDisposedException) { } // the cmdlet is gone; nothing is listening any more
            catch (InvalidOperationException) { }
        }

        private void RunPostedWork()
        {
            while (_pipelineWork.TryTake(out Action? work)) work();
        }

        /// <summary>Resolves a PowerShell path (relative to the current location, PSDrives) to a file-system path.</summary>
        protected string ResolveFilePath(string path) =>
            SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

        public void Dispose()
        {
            _stopping.Dispose();
            _pipelineWork.Dispose();
        }
    }
}
