using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using Xunit;

namespace KgdbOe.Tests.Session
{
    /// <summary>Timed fault injection needs the thread pool to itself.</summary>
    [CollectionDefinition(nameof(SerialFaultInjection), DisableParallelization = true)]
    public class SerialFaultInjection { }

    /// <summary>The client against the simulated stub with faults injected: answers must never be mismatched.</summary>
    [Collection(nameof(SerialFaultInjection))]
    public class LossyConversationTests
    {
        private static readonly TargetEndpoint Endpoint = TargetEndpoint.Parse("udp:127.0.0.1:31337");

        private static ConnectOptions Options() => new ConnectOptions { RequestTimeout = TimeSpan.FromMilliseconds(60), MaxAttempts = 40, Kind = TargetKind.Kgdb };

        private static byte[] RandomMemory(int size, int seed)
        {
            var bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        public async Task Memory_read_through_loss_duplication_and_reordering_is_exact(int seed)
        {
            byte[] memory = RandomMemory(64 * 1024, seed);
            var faults = new FaultPolicy(seed, loss: 0.10, duplicate: 0.05, maxDelayMs: 5);
            using var stub = new SimulatedKgdbStub(faults, memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, Options(), cts.Token);
            byte[] read = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase, memory.Length, null, cts.Token);
            Assert.Equal(memory, read);
            Assert.True(faults.Dropped > 0 && faults.Duplicated > 0, "the run must actually have lost and duplicated datagrams");
            Assert.True(client.Statistics.Retransmissions > 0);
        }

        [Theory]
        [InlineData(11)]
        [InlineData(12)]
        public async Task Breakpoint_hit_and_resume_cycles_lose_no_stop(int seed)
        {
            const int calls = 60;
            var faults = new FaultPolicy(seed, loss: 0.10, duplicate: 0.05, maxDelayMs: 3);
            using var stub = new SimulatedKgdbStub(faults, new byte[16], calls, callIntervalMs: 10);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var log = new System.IO.StringWriter();
            var options = Options();
            options.TrafficLog = log;
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, options, cts.Token);
            Breakpoint bp = await client.SetBreakpointAsync(BreakpointKind.Software, SimulatedKgdbStub.FunctionAddress, 1, cts.Token);
            for (int i = 0; i < calls; i++)
            {
                try { await client.ResumeAsync(cts.Token); }
                catch (Exception) { System.IO.File.WriteAllText($"/tmp/core-bp-{seed}.log", log.ToString() + "\nSTUB:\n" + string.Join("\n", stub.Commands) + "\nWIRE:\n" + string.Join("\n", stub.WireCrashes)); throw; }
                StopEvent stop;
                try { stop = await client.WaitForStopAsync(TimeSpan.FromSeconds(30), cts.Token); }
                catch (Exception) { System.IO.File.WriteAllText($"/tmp/core-bp-{seed}.log", log.ToString()); throw; }
                Assert.Equal(StopReason.Breakpoint, stop.Reason);
                Assert.Equal(SimulatedKgdbStub.FunctionAddress, stop.ProgramCounter);
            }
            System.IO.File.WriteAllText($"/tmp/core-bp-{seed}.log", log.ToString() + "\nSTUB:\n" + string.Join("\n", stub.Commands));
            Assert.Equal(calls, stub.BreakpointHits);
            Assert.Equal(calls, bp.HitCount);
            Assert.Equal(0, stub.StepsOntoInt3);
        }

        [Fact]
        public async Task A_lost_ack_does_not_cost_the_next_request()
        {
            byte[] memory = RandomMemory(4096, 5);
            var faults = new FaultPolicy(5);
            int acksDropped = 0;
            // A reply is acked by the '+' in front of the next packet: lose that datagram, so the stub stays in
            // put_packet waiting for an ack that never comes, and the next read must still get its own bytes.
            faults.Script = (toStub, d) => toStub && d.StartsWith("+$m", StringComparison.Ordinal) && Interlocked.Increment(ref acksDropped) == 2 ? Array.Empty<int>() : null;
            using var stub = new SimulatedKgdbStub(faults, memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, Options(), cts.Token);
            byte[] a = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase, 64, null, cts.Token);
            byte[] b = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase + 64, 64, null, cts.Token);
            Assert.Equal(memory.Take(128), a.Concat(b));
            Assert.True(acksDropped >= 2);
            Assert.True(client.Statistics.Retransmissions > 0);
        }

        [Fact]
        public async Task A_duplicated_reply_is_not_taken_as_the_next_answer()
        {
            byte[] memory = RandomMemory(4096, 6);
            var faults = new FaultPolicy(6);
            // The 32-byte reply (68 characters framed; the next, 31 bytes, 66) arrives twice, the copy while the next read waits for
            // its own reply, which is held back longer still.
            faults.Script = (toStub, d) => toStub ? null : d.Length == 68 ? new[] { 0, 40 } : d.Length == 66 ? new[] { 80 } : null;
            using var stub = new SimulatedKgdbStub(faults, memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var options = Options();
            options.RequestTimeout = TimeSpan.FromMilliseconds(200);
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, options, cts.Token);
            byte[] a = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase, 32, null, cts.Token);
            byte[] b = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase + 32, 32, null, cts.Token);
            Assert.Equal(memory.Take(32), a);
            Assert.Equal(memory.Skip(32).Take(32), b);
            Assert.True(client.Statistics.DuplicatesDropped > 0, "the late copy must have been seen and dropped");
        }

        [Fact]
        public async Task A_late_reply_to_a_resent_request_is_dropped_by_its_shape()
        {
            byte[] memory = RandomMemory(8192, 7);
            var faults = new FaultPolicy(7);
            int replies = 0;
            // The first memory reply comes late: after the client has timed out and asked again.
            faults.Script = (toStub, d) => !toStub && d.StartsWith("$", StringComparison.Ordinal) && d.Length > 100 && Interlocked.Increment(ref replies) == 1 ? new[] { 250 } : null;
            using var stub = new SimulatedKgdbStub(faults, memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, Options(), cts.Token);
            byte[] read = await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase, 4000, null, cts.Token);
            Assert.Equal(memory.Take(4000), read);
            Assert.True(client.Statistics.Timeouts > 0);
        }

        [Fact]
        public async Task Errors_name_the_address_and_the_session_stays_usable()
        {
            byte[] memory = RandomMemory(1024, 8);
            using var stub = new SimulatedKgdbStub(new FaultPolicy(8), memory, calls: 0);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using KernelDebugClient client = await KernelDebugClient.ConnectAsync(Endpoint, stub, Options(), cts.Token);
            var e = await Assert.ThrowsAsync<TargetErrorException>(() => client.ReadMemoryAsync(0x10, 4, null, cts.Token));
            Assert.Equal(22, e.ErrorCode);
            Assert.Equal(0x10UL, e.Address);
            Assert.Contains("0x10", e.Message);
            Assert.Equal(memory.Take(16), await client.ReadMemoryAsync(SimulatedKgdbStub.MemoryBase, 16, null, cts.Token));
        }
    }
}
