using System;
using System.Threading;
using KgdbOe.Tools.LossyUdpProxy;

// Usage: LossyUdpProxy --listen 127.0.0.1:0 --target 127.0.0.1:PORT --loss 10 --dup 5 --reorder 5 --delay-ms 0-5 --seed 1
// Prints the listen port on the first line, statistics when stopped (Ctrl-C, SIGTERM or stdin closed).
ProxyOptions options;
try
{
    options = ProxyOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException || e is FormatException)
{
    Console.Error.WriteLine("LossyUdpProxy: " + e.Message);
    return 2;
}
using var proxy = new UdpFaultProxy(options);
Console.WriteLine(proxy.LocalEndPoint.Port);
Console.Out.Flush();
using var done = new ManualResetEventSlim();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.Set(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => done.Set();
using var posix = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; done.Set(); });
if (Console.IsInputRedirected)
    new Thread(() => { while (Console.In.ReadLine() != null) { } done.Set(); }) { IsBackground = true }.Start();
done.Wait();
Console.WriteLine(proxy.Statistics.ToString());
return 0;
