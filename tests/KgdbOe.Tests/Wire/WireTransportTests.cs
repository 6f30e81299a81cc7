using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Wire;
using Xunit;

namespace KgdbOe.Tests.Wire
{
    /// <summary>The client's v2 handshake, stream and fast reads against a fake module that loses datagrams.</summary>
    public class WireTransportTests
    {
        private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

        private static async Task<(WireTransport, BlockingCollection<byte>)> ConnectAsync(FakeWireModule module, byte[] key)
        {
            var t = new WireTransport("127.0.0.1", module.Port, 0, key);
            await t.ConnectAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            var received = new BlockingCollection<byte>();
            t.Start(seg => { foreach (byte b in seg) received.Add(b); }, _ => { });
            return (t, received);
        }

        private static string Take(BlockingCollection<byte> from, int n)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                Assert.True(from.TryTake(out byte b, TimeSpan.FromSeconds(20)), $"stream stalled after '{sb}'");
                sb.Append((char)b);
            }
            return sb.ToString();
        }

        [Fact]
        public async Task AWrongKeyFailsAuthenticationAndOpensNoSession()
        {
            using var module = new FakeWireModule(Key);
            var wrong = (byte[])Key.Clone();
            wrong[31] ^= 0x80;
            using var t = new WireTransport("127.0.0.1", module.Port, 0, wrong);
            await Assert.ThrowsAsync<AuthenticationFailedException>(() => t.ConnectAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
            Assert.Equal(0, module.Sessions);
            Assert.True(module.Dropped > 0);
        }

        [Fact]
        public async Task TheStreamArrivesWholeAndInOrderThroughLossBothWays()
        {
            // 20 % lost towards the module, 25 % back (handshake included); seeded, not periodic:
            // a periodic loss can hit the same resent segment every round, which no network does.
            var rin = new Random(5);
            var rout = new Random(4);
            using var module = new FakeWireModule(Key, dropIn: _ => rin.Next(100) < 20, dropOut: _ => rout.Next(100) < 25);
            var (t, received) = await ConnectAsync(module, Key);
            using (t)
            {
                var sent = new StringBuilder();
                for (int i = 0; i < 60; i++)
                {
                    string piece = $"$m{i:x},10#00;";
                    sent.Append(piece);
                    await t.SendAsync(Encoding.ASCII.GetBytes(piece), CancellationToken.None);
                }
                Assert.Equal(sent.ToString().ToUpperInvariant(), Take(received, sent.Length));
                Assert.Equal(1, module.Sessions);
            }
        }

        [Fact]
        public async Task ALongWriteIsCutIntoSegmentsThatArriveInOrder()
        {
            var rin = new Random(7);
            using var module = new FakeWireModule(Key, dropIn: _ => rin.Next(100) < 15);
            var (t, received) = await ConnectAsync(module, Key);
            using (t)
            {
                string big = string.Concat(Enumerable.Range(0, 6000).Select(i => (char)('a' + i % 26)));
                await t.SendAsync(Encoding.ASCII.GetBytes(big), CancellationToken.None);
                Assert.Equal(big.ToUpperInvariant(), Take(received, big.Length));
            }
        }

        [Fact]
        public async Task FastReadsSurviveLossAndStopExactlyAtAnUnreadablePage()
        {
            var rout = new Random(6);
            using var module = new FakeWireModule(Key, dropOut: _ => rout.Next(100) < 15)
            {
                Memory = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7 + (i >> 8))).ToArray(),
                MemoryBase = 0xffff888000000000UL,
            };
            var (t, _) = await ConnectAsync(module, Key);
            using (t)
            {
                t.ReadRetry = TimeSpan.FromMilliseconds(100);
                var got = new byte[150_000];
                long last = -1;
                await t.ReadMemoryAsync(module.MemoryBase + 1000, got.Length, (a, b) =>
                {
                    Assert.True((long)(a - module.MemoryBase) > last);
                    last = (long)(a - module.MemoryBase);
                    Buffer.BlockCopy(b, 0, got, (int)(a - module.MemoryBase - 1000), b.Length);
                    return Task.CompletedTask;
                }, null, CancellationToken.None);
                Assert.Equal(module.Memory.Skip(1000).Take(got.Length), got);

                module.Hole = (90_000, 94_096);
                long before = 0;
                var e = await Assert.ThrowsAsync<TargetErrorException>(() => t.ReadMemoryAsync(module.MemoryBase + 20_000, 100_000, (a, b) =>
                {
                    Assert.Equal(module.Memory.Skip((int)(a - module.MemoryBase)).Take(b.Length), b);
                    before += b.Length;
                    return Task.CompletedTask;
                }, null, CancellationToken.None));
                Assert.Equal(14, e.ErrorCode);
                Assert.Equal(module.MemoryBase + 90_000, e.Address);
                Assert.Equal(70_000, before);
            }
        }
    }
}
