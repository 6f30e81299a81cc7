using System;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Bridge;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Opens a local TCP port on a connected target and serves the GDB remote protocol there to one
    /// RSP client (stock gdb, drgn, lldb...), over KgdbOe's own connection to the kernel: the client
    /// gets TCP's reliability however lossy the network to the kernel is, and qOffsets tells it the
    /// KASLR slide. Ends when the client detaches or disconnects, or on Ctrl-C; the kernel is left
    /// running in every case and the KgdbOe session stays connected.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "KernelGdbBridge", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    public sealed class StartKernelGdbBridgeCommand : KernelTargetCmdlet
    {
        /// <summary>The TCP port to listen on; 0 (the default) picks a free one and says which.</summary>
        [Parameter(Position = 0)]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The local address to listen on: 127.0.0.1 by default (this machine only).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string LocalAddress { get; set; } = "127.0.0.1";

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            if (!IPAddress.TryParse(LocalAddress, out IPAddress? address))
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, LocalAddress,
                    $"-LocalAddress '{LocalAddress}' is not an IP address.");
            if (!ShouldProcess(session.ToString(), $"Serve the GDB remote protocol on {LocalAddress}:{Port}")) return;

            var listener = new TcpListener(address, Port);
            try
            {
                listener.Start(1);
            }
            catch (SocketException e)
            {
                throw Fail(KgdbOeErrorId.ConnectionFailed, ErrorCategory.ResourceUnavailable, $"{LocalAddress}:{Port}",
                    $"Cannot listen on {LocalAddress}:{Port}: {e.Message}", e);
            }
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            try
            {
                string symbols = session.KaslrSlide != 0 ? $" (KASLR slide 0x{session.KaslrSlide:x}, given to gdb by qOffsets)" : "";
                WriteInformation(new HostInformationMessage
                {
                    Message = $"Serving {session.Name} on {LocalAddress}:{port}{symbols}: gdb vmlinux -ex 'target remote {LocalAddress}:{port}'",
                }, new[] { "PSHOST" });

                TcpClient client = Await(ct => AcceptAsync(listener, ct));
                listener.Stop(); // one RSP client at a time: later connections are refused
                using (client)
                {
                    client.NoDelay = true;
                    WriteVerbose($"{client.Client.RemoteEndPoint} connected.");
                    var bridge = new GdbBridgeConnection(session.Client, client.GetStream(), session.KaslrSlide);
                    string reason = Call(session, session, ErrorCategory.ConnectionError, (c, ct) => bridge.RunAsync(ct));
                    WriteVerbose($"The RSP client's session ended ({reason}) after {bridge.Requests} requests; the kernel is {session.State}.");
                }
            }
            finally
            {
                listener.Stop();
            }
        }

        private static async Task<TcpClient> AcceptAsync(TcpListener listener, CancellationToken ct)
        {
            using (ct.Register(listener.Stop))
            {
                try
                {
                    return await listener.AcceptTcpClientAsync().ConfigureAwait(false);
                }
                catch (Exception e) when ((e is ObjectDisposedException || e is SocketException) && ct.IsCancellationRequested)
                {
                    throw new OperationCanceledException(ct);
                }
            }
        }
    }
}
