using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace KgdbOe.Tools.LossyUdpProxy
{
    /// <summary>Runs actions after their delay on one dedicated thread, in due order (a simulated wire).</summary>
    public sealed class DelayLine : IDisposable
    {
        private readonly PriorityQueue<Action, (long Due, long Seq)> _queue = new PriorityQueue<Action, (long, long)>();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Thread _thread;
        private long _seq;

        public readonly System.Collections.Concurrent.ConcurrentBag<string> Crashes = new System.Collections.Concurrent.ConcurrentBag<string>();
        private bool _stopped;

        public DelayLine()
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "delay line" };
            _thread.Start();
        }

        public void After(int delayMs, Action action)
        {
            lock (_queue)
            {
                _queue.Enqueue(action, (_clock.ElapsedMilliseconds + delayMs, _seq++));
                Monitor.Pulse(_queue);
            }
        }

        private void Run()
        {
            while (true)
            {
                Action action;
                lock (_queue)
                {
                    while (true)
                    {
                        if (_stopped) return;
                        if (_queue.TryPeek(out _, out var key))
                        {
                            long wait = key.Due - _clock.ElapsedMilliseconds;
                            if (wait <= 0) { action = _queue.Dequeue(); break; }
                            Monitor.Wait(_queue, (int)wait);
                        }
                        else Monitor.Wait(_queue);
                    }
                }
                try { action(); }
                catch (ObjectDisposedException) { }
                catch (InvalidOperationException) { }
                catch (Exception e) { Crashes.Add(e.ToString()); }
            }
        }

        public void Dispose()
        {
            lock (_queue) { _stopped = true; Monitor.Pulse(_queue); }
        }
    }
}
