using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;
using KgdbOe.Transport;
using KgdbOe.Tools.LossyUdpProxy;

namespace KgdbOe.Tests.Session
{
    /// <summary>
    /// A stand-in for kernel/debug/gdbstub.c behind a lossy datagram link, used only to inject faults a real
    /// peer cannot be made to produce on demand. get_packet/put_packet follow the kernel's code byte by byte:
    /// put_packet waits for one byte after a reply ('+' done, 0x03 skipped, '$' NAK-and-abandon, else resend).
    /// While "running", bytes other than 0x03 are dropped (what kgdboe's rx path does) and a simulated
    /// workload calls the function at FunctionAddress Calls times; a software breakpoint there stops it
    /// with pc one past the int3.
    /// </summary>
    internal sealed class SimulatedKgdbStub : IPacketTransport
    {
        public const ulong FunctionAddress = 0xffffffff81100000UL;
        public const ulong MemoryBase = 0xffffffff82000000UL;

        private readonly FaultPolicy _faults;
        private readonly BlockingCollection<byte> _input = new BlockingCollection<byte>();
        private readonly List<byte> _output = new List<byte>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly HashSet<ulong> _breakpoints = new HashSet<ulong>();
        private Action<ArraySegment<byte>>? _deliver;
        private ulong _pc = 0xffffffff81000100UL;
        private bool _running;

        public SimulatedKgdbStub(FaultPolicy faults, byte[] memory, int calls, int callIntervalMs = 2)
        {
            _faults = faults;
            Memory = memory;
            CallsLeft = calls;
            CallIntervalMs = callIntervalMs;
        }

        public byte[] Memory { get; }
        public int CallsLeft;
        public int CallIntervalMs { get; }
        public int BreakpointHits;
        public int CommandsExecuted;
        public int StepsOntoInt3;
        public readonly List<string> Commands = new List<string>();

        public IEnumerable<string> WireCrashes => _wire.Crashes;

        public bool IsReliable => false;
        public string Description => "simulated KGDB stub";

        public Task ConnectAsync(TimeSpan timeout, CancellationToken ct) => Task.CompletedTask;

        public void Start(Action<ArraySegment<byte>> onReceived, Action<Exception?> onClosed)
        {
            _deliver = onReceived;
            new Thread(Run) { IsBackground = true, Name = "simulated stub" }.Start();
        }

        public Task SendAsync(byte[] data, CancellationToken ct)
        {
            foreach (int delay in _faults.Decide(true, Encoding.ASCII.GetString(data)))
                Later(delay, () => { foreach (byte b in data) _input.Add(b); });
            return Task.CompletedTask;
        }

        private readonly DelayLine _wire = new DelayLine();

        private void Later(int delayMs, Action action)
        {
            if (delayMs == 0) { action(); return; }
            _wire.After(delayMs, action);
        }

        // ---- the stub's side -------------------------------------------------------------------

        private void WriteChar(char c) { lock (_output) _output.Add((byte)c); }

        private void Flush()
        {
            byte[] datagram;
            lock (_output) { datagram = _output.ToArray(); _output.Clear(); }
            foreach (int delay in _faults.Decide(false, Encoding.ASCII.GetString(datagram)))
                Later(delay, () => _deliver?.Invoke(new ArraySegment<byte>(datagram)));
        }

        private int ReadWait()
        {
            while (true)
            {
                if (_running)
                {
                    // The kernel runs: only 0x03 reaches the debugger; the workload may hit a breakpoint.
                    if (_input.TryTake(out byte b, CallIntervalMs, _stop.Token))
                    {
                        if (b == 3) { _running = false; return -2; }
                        lock (Commands) Commands.Add("dropped while running: " + (char)b);
                        continue;
                    }
                    if (CallsLeft > 0)
                    {
                        CallsLeft--;
                        lock (Commands) Commands.Add("call, bp " + (_breakpoints.Contains(FunctionAddress) ? "set" : "absent"));
                        if (_breakpoints.Contains(FunctionAddress)) { BreakpointHits++; _pc = FunctionAddress + 1; _running = false; return -2; }
                    }
                    continue;
                }
                return _input.Take(_stop.Token);
            }
        }

        private void Run()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    string? packet = GetPacket();
                    if (packet == null) { PutPacket("T05thread:fffffffe;"); continue; }
                    string? reply = Handle(packet);
                    if (reply != null) PutPacket(reply);
                    else if (_running)
                    {
                        // Resumed: the next thing the stub says is a stop reply.
                        int r;
                        while ((r = ReadWait()) != -2) { }
                        PutPacket("T05thread:fffffffe;");
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
            catch (Exception e) { lock (Commands) Commands.Add("STUB CRASHED: " + e); }
        }

        /// <summary>kernel get_packet(); null when a stop interrupted the wait (only while running).</summary>
        private string? GetPacket()
        {
            while (true)
            {
                int ch;
                while ((ch = ReadWait()) != '$') if (ch == -2) return null;
                var buffer = new StringBuilder();
                byte checksum = 0;
                while (buffer.Length < 1023)
                {
                    ch = ReadWait();
                    if (ch == '#') break;
                    checksum += (byte)ch;
                    buffer.Append((char)ch);
                }
                if (ch != '#') continue;
                int hi = Hex.Value((char)ReadWait()), lo = Hex.Value((char)ReadWait());
                int xmit = (hi < 0 || lo < 0) ? -1 : (hi << 4) | lo;
                WriteChar(checksum == xmit ? '+' : '-');
                Flush();
                if (checksum == xmit) return buffer.ToString();
            }
        }

        private void PutPacket(string payload)
        {
            while (true)
            {
                WriteChar('$');
                byte checksum = 0;
                foreach (char c in payload) { WriteChar(c); checksum += (byte)c; }
                WriteChar('#');
                foreach (char c in checksum.ToString("x2")) WriteChar(c);
                Flush();
                int ch = ReadWait();
                if (ch == 3) ch = ReadWait();
                lock (Commands) Commands.Add($"put {payload} -> got {(char)ch}");
                if (ch == '+') return;
                if (ch == '$') { WriteChar('-'); Flush(); return; }
            }
        }

        private string? Handle(string p)
        {
            lock (Commands) Commands.Add(p);
            CommandsExecuted++;
            switch (p[0])
            {
                case '?': _breakpoints.Clear(); return "S05";
                case 'q':
                    if (p == "qC") return "QCfffffffe";
                    return "";
                case 'p':
                    return p == "p10" ? Hex.Encode(BitConverter.GetBytes(_pc)) : "E22";
                case 'P':
                    if (!p.StartsWith("P10=", StringComparison.Ordinal)) return "E22";
                    _pc = BitConverter.ToUInt64(Hex.Decode(p.Substring(4)), 0);
                    return "OK";
                case 'm':
                {
                    string[] parts = p.Substring(1).Split(',');
                    ulong addr = ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    int len = int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (len > 511 || addr < MemoryBase || addr + (ulong)len > MemoryBase + (ulong)Memory.Length) return "E22";
                    return Hex.Encode(new ReadOnlySpan<byte>(Memory, (int)(addr - MemoryBase), len));
                }
                case 'M':
                {
                    string[] parts = p.Substring(1).Split(',', ':');
                    ulong addr = ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    byte[] data = Hex.Decode(parts[2]);
                    if (addr < MemoryBase || addr + (ulong)data.Length > MemoryBase + (ulong)Memory.Length) return "E22";
                    data.CopyTo(Memory, (int)(addr - MemoryBase));
                    return "OK";
                }
                case 'Z':
                case 'z':
                {
                    string[] parts = p.Substring(1).Split(',');
                    ulong addr = ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (p[0] == 'Z') return _breakpoints.Add(addr) ? "OK" : "E17";
                    return _breakpoints.Remove(addr) ? "OK" : "E02";
                }
                case 'c':
                    _running = true;
                    return null;
                case 's':
                    // An int3 still planted where we step executes and traps one byte further.
                    if (_breakpoints.Contains(_pc)) { StepsOntoInt3++; _pc += 1; lock (Commands) Commands.Add("STEPPED ONTO INT3"); }
                    else _pc += 5;
                    return "T05thread:fffffffe;";
                case 'D':
                    _breakpoints.Clear();
                    return "OK";
                default:
                    return "";
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _wire.Dispose();
        }
    }
}
