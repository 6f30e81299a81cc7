using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Protocol;
using Xunit;

namespace KgdbOe.Tests.Session
{
    /// <summary>
    /// The exchanges the kernel's own test (drivers/misc/kgdbts.c) scripts for its stub, as data: what the
    /// stub answers to the packets our client must send for the same operations. The client's packets are
    /// checked against the patterns, the stub's replies are the kernel's.
    /// </summary>
    public class KgdbtsExchangeTests
    {
        private const ulong Function = 0xffffffff81234560UL;
        private static string Pc(ulong pc) => Hex.Encode(BitConverter.GetBytes(pc));
        private static readonly string F = Function.ToString("x");

        // Our attach: qSupported (x86 answers empty), '?' (clears breakpoints, kgdbts: "S0*"), qC, pc.
        private static IEnumerable<(string, string?)> Attach() => new (string, string?)[]
        {
            (@"qSupported.*", ""), (@"\?", "S05"), ("qC", "QCfffffffe"), ("p10", Pc(0xffffffff81000010UL)),
        };

        private static async Task<(KernelDebugClient, ScriptedPeer)> ConnectAsync(IEnumerable<(string, string?)> script)
        {
            var all = new List<(string, string?)>(Attach());
            all.AddRange(script);
            var peer = new ScriptedPeer(all);
            var client = await KernelDebugClient.ConnectAsync(TargetEndpoint.Parse("tcp:127.0.0.1:1"), peer,
                new ConnectOptions { Kind = TargetKind.Kgdb, RequestTimeout = TimeSpan.FromSeconds(5) }, CancellationToken.None);
            return (client, peer);
        }

        private static void Done(ScriptedPeer peer)
        {
            Assert.Null(peer.Failure);
            Assert.Equal(0, peer.Remaining);
        }

        [Fact]
        public async Task bad_read_test_reads_at_0_fail_with_EINVAL_naming_the_address()
        {
            var script = new List<(string, string?)>();
            for (int n = 1; n <= 8; n++) script.Add(($"m0,{n}", "E22"));
            script.Add(("D", "OK"));
            var (client, peer) = await ConnectAsync(script);
            for (int n = 1; n <= 8; n++)
            {
                var e = await Assert.ThrowsAsync<TargetErrorException>(() => client.ReadMemoryAsync(0, n, null, CancellationToken.None));
                Assert.Equal(22, e.ErrorCode);
                Assert.Equal(0UL, e.Address);
                Assert.Contains("EINVAL", e.Message);
            }
            await client.DetachAsync(CancellationToken.None);
            Done(peer);
        }

        [Fact]
        public async Task sw_break_test_stop_one_past_the_int3_is_reported_at_the_breakpoint_and_rewound_on_removal()
        {
            var (client, peer) = await ConnectAsync(new (string, string?)[]
            {
                ($"Z0,{F},1", "OK"),
                ("c", null),
            });
            Breakpoint bp = await client.SetBreakpointAsync(BreakpointKind.Software, Function, 1, CancellationToken.None);
            Task<StopEvent> wait = Task.Run(async () =>
            {
                await client.ResumeAsync(CancellationToken.None);
                return await client.WaitForStopAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            });
            // kgdbts: "c" -> "T0*"; then "g" shows pc one past the breakpoint (check_and_rewind_pc).
            await Task.Delay(100);
            Assert.Null(peer.Failure);
            // The stop arrives only now, like a breakpoint hit some time after c.
            peer.Expect(("p10", Pc(Function + 1)), ($"z0,{F},1", "OK"), ($"P10={Pc(Function)}", "OK"), ("D", "OK"));
            peer.SendUnprompted("T05thread:0000007b;");
            StopEvent stop = await wait;
            Assert.Equal(StopReason.Breakpoint, stop.Reason);
            Assert.Equal(Function, stop.ProgramCounter);
            Assert.Same(bp, stop.Breakpoint);
            Assert.Equal("0000007b", stop.ThreadId);
            await client.RemoveBreakpointAsync(bp, CancellationToken.None);
            await client.DetachAsync(CancellationToken.None);
            Done(peer);
        }

        [Fact]
        public async Task singlestep_test_steps_over_the_breakpoint_with_pc_rewound_and_the_int3_lifted()
        {
            var (client, peer) = await ConnectAsync(new (string, string?)[]
            {
                ($"Z0,{F},1", "OK"),
                ("c", null),
            });
            await client.SetBreakpointAsync(BreakpointKind.Software, Function, 1, CancellationToken.None);
            Task<StopEvent> wait = Task.Run(async () =>
            {
                await client.ResumeAsync(CancellationToken.None);
                return await client.WaitForStopAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            });
            await Task.Delay(100);
            peer.Expect(("p10", Pc(Function + 1)),
                // kgdbts: remove the breakpoint, rewind pc, "s" -> "T0*", pc moved, set the breakpoint again.
                ($"P10={Pc(Function)}", "OK"), ($"z0,{F},1", "OK"), ("s", "T05thread:0000007b;"), ("p10", Pc(Function + 5)),
                ($"Z0,{F},1", "OK"), ("D", "OK"));
            peer.SendUnprompted("T05thread:0000007b;");
            await wait;
            StopEvent stepped = await client.StepAsync(CancellationToken.None);
            Assert.Equal(StopReason.Step, stepped.Reason);
            Assert.Equal(Function + 5, stepped.ProgramCounter);
            await client.DetachAsync(CancellationToken.None);
            Done(peer);
        }

        [Theory]
        [InlineData(BreakpointKind.Hardware, 1, StopReason.Breakpoint)]
        [InlineData(BreakpointKind.WriteWatch, 8, StopReason.Watchpoint)]
        [InlineData(BreakpointKind.AccessWatch, 4, StopReason.Watchpoint)]
        public async Task hw_break_and_hw_write_break_tests_use_Z1_Z2_Z4(BreakpointKind kind, int length, StopReason reason)
        {
            ulong address = kind == BreakpointKind.Hardware ? Function : 0xffffffff82000040UL;
            string a = address.ToString("x");
            var (client, peer) = await ConnectAsync(new (string, string?)[] { ($"Z{(int)kind},{a},{length:x}", "OK"), ("c", null) });
            Breakpoint bp = await client.SetBreakpointAsync(kind, address, length, CancellationToken.None);
            Task<StopEvent> wait = Task.Run(async () =>
            {
                await client.ResumeAsync(CancellationToken.None);
                return await client.WaitForStopAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            });
            await Task.Delay(100);
            ulong pc = kind == BreakpointKind.Hardware ? Function : Function + 0x33;
            peer.Expect(("p10", Pc(pc)), ($"z{(int)kind},{a},{length:x}", "OK"), ("D", "OK"));
            peer.SendUnprompted("T05thread:0000007b;");
            StopEvent stop = await wait;
            Assert.Equal(reason, stop.Reason);
            Assert.Same(bp, stop.Breakpoint);
            Assert.Equal(pc, stop.ProgramCounter);
            await client.RemoveBreakpointAsync(bp, CancellationToken.None);
            await client.DetachAsync(CancellationToken.None);
            Done(peer);
        }

        [Fact]
        public async Task Watchpoint_lengths_and_alignment_are_checked_before_anything_is_sent()
        {
            var (client, peer) = await ConnectAsync(new (string, string?)[] { ("D", "OK") });
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SetBreakpointAsync(BreakpointKind.WriteWatch, 0xffffffff82000040UL, 3, CancellationToken.None));
            await Assert.ThrowsAsync<ArgumentException>(() => client.SetBreakpointAsync(BreakpointKind.WriteWatch, 0xffffffff82000041UL, 4, CancellationToken.None));
            await Assert.ThrowsAsync<NotSupportedException>(() => client.SetBreakpointAsync(BreakpointKind.ReadWatch, 0xffffffff82000040UL, 4, CancellationToken.None));
            await client.DetachAsync(CancellationToken.None);
            Done(peer);
        }
    }
}
