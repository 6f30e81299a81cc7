using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Tools.LossyUdpProxy
{
    /// <summary>
    /// Sits between a debugger and a UDP target and loses, duplicates, delays and reorders datagrams with
    /// a seeded random source (the same seed gives the same decisions for the same traffic). The target
    /// sees one fixed source port (the back socket), as a real client would give it; replies go to
    /// whoever last sent to the front socket.
    /// </summary>
    public sealed class UdpFaultProxy : IDisposable
    {
        private readonly ProxyOptions _options;
        private readonly Socket _front;
        private readonly Socket _back;
        private readonly Random _random;
        private readonly DelayLine _line = new DelayLine();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private EndPoint? _client;

        public UdpFaultProxy(ProxyOptions options)
        {
            _options = options;
            _random = new Random(options.Seed);
            _front = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _front.Bind(options.Listen);
            _back = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _back.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _back.Connect(options.Target);
            _ = Task.Run(PumpUpAsync);
            _ = Task.Run(PumpDownAsync);
        }

        public IPEndPoint LocalEndPoint => (IPEndPoint)_front.LocalEndPoint!;
        public ProxyStatistics Statistics { get; } = new ProxyStatistics();

        private async Task PumpUpAsync()
        {
            var buffer = new byte[65536];
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult r;
                try { r = await _front.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
                catch (Exception) when (_stop.IsCancellationRequested) { return; }
                catch (SocketException) { continue; }
                _client = r.RemoteEndPoint;
                ProxyStatistics.Add(ref Statistics.UpReceived);
                byte[] data = buffer.AsSpan(0, r.ReceivedBytes).ToArray();
                Forward(data, up: true);
            }
        }

        private async Task PumpDownAsync()
        {
            var buffer = new byte[65536];
            while (!_stop.IsCancellationRequested)
            {
                int n;
                try { n = await _back.ReceiveAsync(buffer, SocketFlags.None, _stop.Token); }
                catch (Exception) when (_stop.IsCancellationRequested) { return; }
                catch (SocketException) { continue; } // ICMP unreachable while the target is down
                ProxyStatistics.Add(ref Statistics.DownReceived);
                Forward(buffer.AsSpan(0, n).ToArray(), up: false);
            }
        }

        private void Forward(byte[] data, bool up)
        {
            int copies;
            int[] delays = new int[2];
            lock (_random)
            {
                if (_random.NextDouble() * 100 < _options.LossPercent)
                {
                    ProxyStatistics.Add(ref up ? ref Statistics.UpDropped : ref Statistics.DownDropped);
                    return;
                }
                copies = _random.NextDouble() * 100 < _options.DuplicatePercent ? 2 : 1;
                if (copies == 2) ProxyStatistics.Add(ref up ? ref Statistics.UpDuplicated : ref Statistics.DownDuplicated);
                for (int i = 0; i < copies; i++)
                {
                    delays[i] = _random.Next(_options.DelayMinMs, _options.DelayMaxMs + 1);
                    if (_random.NextDouble() * 100 < _options.ReorderPercent)
                    {
                        // Late by more than the delay spread: datagrams sent after it arrive first.
                        delays[i] += _options.DelayMaxMs + 1 + _random.Next(5);
                        ProxyStatistics.Add(ref up ? ref Statistics.UpReordered : ref Statistics.DownReordered);
                    }
                }
            }
            for (int i = 0; i < copies; i++)
                _line.After(delays[i], () => Send(data, up));
        }

        private void Send(byte[] data, bool up)
        {
            try
            {
                if (up) _back.Send(data);
                else if (_client != null) _front.SendTo(data, _client);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _line.Dispose();
            _front.Dispose();
            _back.Dispose();
        }
    }
}
