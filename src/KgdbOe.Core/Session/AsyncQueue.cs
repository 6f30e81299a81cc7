using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Session
{
    /// <summary>A minimal unbounded queue with one asynchronous reader and a completion reason.</summary>
    internal sealed class AsyncQueue<T>
    {
        private static readonly TimeSpan MaxSlice = TimeSpan.FromDays(1);
        private readonly object _gate = new object();
        private readonly Queue<T> _items = new Queue<T>();
        private TaskCompletionSource<bool>? _waiter;
        private Exception? _completion;
        private bool _completed;

        public void Enqueue(T item)
        {
            TaskCompletionSource<bool>? waiter;
            lock (_gate)
            {
                if (_completed) return;
                _items.Enqueue(item);
                waiter = _waiter;
                _waiter = null;
            }
            waiter?.TrySetResult(true);
        }

        public void Complete(Exception? reason)
        {
            TaskCompletionSource<bool>? waiter;
            lock (_gate)
            {
                _completed = true;
                _completion = reason;
                waiter = _waiter;
                _waiter = null;
            }
            waiter?.TrySetResult(true);
        }

        public bool TryDequeue(out T item)
        {
            lock (_gate)
            {
                if (_items.Count > 0) { item = _items.Dequeue(); return true; }
                item = default!;
                return false;
            }
        }

        /// <summary>Waits up to timeout for an item; false on timeout. Throws the completion reason once drained.</summary>
        public async Task<(bool, T)> TryDequeueAsync(TimeSpan timeout, CancellationToken ct)
        {
            DateTime deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                Task<bool> signal;
                lock (_gate)
                {
                    if (_items.Count > 0) return (true, _items.Dequeue());
                    if (_completed) throw _completion ?? new ObjectDisposedException("session", "The session is closed.");
                    _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    signal = _waiter.Task;
                }
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return (false, default!);
                using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    // Task.Delay takes at most ~49 days; a longer wait (a background watch for a stop
                    // waits years) is served in slices by this loop.
                    Task delay = Task.Delay(left < MaxSlice ? left : MaxSlice, cts.Token);
                    Task winner = await Task.WhenAny(signal, delay).ConfigureAwait(false);
                    cts.Cancel();
                    ct.ThrowIfCancellationRequested();
                }
            }
        }
    }
}
