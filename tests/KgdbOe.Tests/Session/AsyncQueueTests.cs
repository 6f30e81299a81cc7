using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Session;
using Xunit;

namespace KgdbOe.Tests.Session
{
    public class AsyncQueueTests
    {
        // A background watch for a stop waits "for good" (3650 days); Task.Delay refuses more than
        // ~49 days, which once failed every wait on the reliable (v2) transport with an
        // ArgumentOutOfRangeException instead of waiting.
        [Fact]
        public async Task A_wait_longer_than_Task_Delay_allows_still_waits_and_returns_the_item()
        {
            var queue = new AsyncQueue<int>();
            Task<(bool, int)> wait = queue.TryDequeueAsync(TimeSpan.FromDays(3650), CancellationToken.None);
            await Task.Delay(50);
            Assert.False(wait.IsCompleted, wait.IsFaulted ? wait.Exception!.ToString() : "completed early");
            queue.Enqueue(42);
            (bool got, int item) = await wait;
            Assert.True(got);
            Assert.Equal(42, item);
        }
    }
}
