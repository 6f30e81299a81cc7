using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Transport
{
    /// <summary>A TCP stream to the target (QEMU's gdbstub, gdbserver).</summary>
    internal sealed class TcpTransport : IPacketTransport
    {
        private readonly string _host;
        private readonly int _port;
        private readonly SemaphoreSlim _sendLock = new SemaphoreSlim(1, 1);
        private TcpClient? _client;
        private NetworkStream? _stream;
        private int _disposed;

        public TcpTransport(string host, int port)
        {
            _host = host;
            _port = port;
        }

        public bool IsReliable => true;

        public string Description => $"tcp:{_host}:{_port}";

        internal static async Task<IPAddress> ResolveAsync(string host, CancellationToken ct)
        {
            if (IPAddress.TryParse(host, out IPAddress? literal)) return literal;
            try
            {
                IPAddress[] all = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                foreach (IPAddress a in all) if (a.AddressFamily == AddressFamily.InterNetwork) return a;
                if (all.Length > 0) return all[0];
            }
            catch (SocketException e)
            {
                throw new TargetConnectionException($"Cannot resolve host '{host}': {e.Message}", null, e);
            }
            throw new TargetConnectionException($"Host '{host}' has no address.");
        }

        public async Task ConnectAsync(TimeSpan timeout, CancellationToken ct)
        {
            IPAddress address = await ResolveAsync(_host, ct).ConfigureAwait(false);
            var client = new TcpClient(address.AddressFamily) { NoDelay = true };
            Task connect = client.ConnectAsync(address, _port);
            Task winner = await Task.WhenAny(connect, Task.Delay(timeout, ct)).ConfigureAwait(false);
            if (winner != connect)
            {
                client.Dispose();
                _ = connect.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
                ct.ThrowIfCancellationRequested();
                throw new TargetTimeoutException($"No TCP connection to {_host}:{_port} within {timeout.TotalSeconds:0.#} s.");
            }
            try
            {
                await connect.ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                client.Dispose();
                throw new TargetConnectionException($"Cannot connect to tcp:{_host}:{_port}: {e.Message}", null, e);
            }
            _client = client;
            _stream = client.GetStream();
        }

        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed)
        {
            NetworkStream stream = _stream ?? throw new InvalidOperationException("Connect first.");
            _ = Task.Run(async () =>
            {
                var buffer = new byte[65536];
                Exception? reason = null;
                while (true)
                {
                    int n;
                    try
                    {
                        n = await stream.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is ObjectDisposedException || e is System.IO.IOException || e is SocketException)
                    {
                        if (Volatile.Read(ref _disposed) == 0) reason = e;
                        break;
                    }
                    if (n == 0)
                    {
                        if (Volatile.Read(ref _disposed) == 0) reason = new TargetConnectionException($"The target closed tcp:{_host}:{_port}.");
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
            NetworkStream stream = _stream ?? throw new InvalidOperationException("Connect first.");
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await stream.WriteAsync(data, 0, data.Length, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException || e is System.IO.IOException)
            {
                throw new TargetConnectionException($"Cannot send to tcp:{_host}:{_port}: {e.Message}", null, e);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _stream?.Dispose();
            _client?.Dispose();
            _sendLock.Dispose();
        }
    }
}
