using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Transport
{
    /// <summary>
    /// One UDP socket bound to a fixed local port for the whole session (the target answers the last
    /// sender) and connected to the target, so datagrams from anyone else are dropped by the kernel.
    /// </summary>
    internal sealed class UdpTransport : IPacketTransport
    {
        private readonly string _host;
        private readonly int _port;
        private readonly int _localPort;
        private Socket? _socket;
        private int _disposed;

        public UdpTransport(string host, int port, int localPort)
        {
            _host = host;
            _port = port;
            _localPort = localPort;
        }

        public bool IsReliable => false;

        public string Description => $"udp:{_host}:{_port} from local port {LocalPort}";

        public int LocalPort => (_socket?.LocalEndPoint as IPEndPoint)?.Port ?? _localPort;

        public async Task ConnectAsync(TimeSpan timeout, CancellationToken ct)
        {
            IPAddress address = await TcpTransport.ResolveAsync(_host, ct).ConfigureAwait(false);
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, _localPort));
                socket.Connect(new IPEndPoint(address, _port));
                // Large bursts (a 1 MiB read) must not overflow the default receive buffer.
                socket.ReceiveBufferSize = 1 << 20;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new TargetConnectionException($"Cannot open UDP to {_host}:{_port} from local port {_localPort}: {e.Message}", null, e);
            }
            _socket = socket;
        }

        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed)
        {
            Socket socket = _socket ?? throw new InvalidOperationException("Connect first.");
            _ = Task.Run(async () =>
            {
                var buffer = new byte[65536];
                Exception? reason = null;
                while (Volatile.Read(ref _disposed) == 0)
                {
                    int n;
                    try
                    {
                        n = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None).ConfigureAwait(false);
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused || e.SocketErrorCode == SocketError.ConnectionReset)
                    {
                        // An ICMP "port unreachable" for an earlier datagram: the target may come up later.
                        continue;
                    }
                    catch (Exception e) when (e is ObjectDisposedException || e is SocketException)
                    {
                        if (Volatile.Read(ref _disposed) == 0) reason = e;
                        break;
                    }
                    var copy = new byte[n];
                    Buffer.BlockCopy(buffer, 0, copy, 0, n);
                    onReceived(new ArraySegment<byte>(copy));
                }
                onClosed(reason);
            });
        }

        public async Task SendAsync(byte[] data, CancellationToken ct)
        {
            Socket socket = _socket ?? throw new InvalidOperationException("Connect first.");
            ct.ThrowIfCancellationRequested();
            try
            {
                await socket.SendAsync(new ArraySegment<byte>(data), SocketFlags.None).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused || e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Reported for an earlier datagram; this one may well arrive. Retransmission covers the rest.
            }
            catch (ObjectDisposedException e)
            {
                throw new TargetConnectionException($"The UDP session to {_host}:{_port} is closed.", null, e);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) _socket?.Dispose();
        }
    }
}
