using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace KgdbOe.Session
{
    /// <summary>Writes raw traffic the way gdb's "set debug remote 1" does: direction, time, printable bytes.</summary>
    internal sealed class TrafficLog
    {
        private readonly TextWriter? _writer;
        private readonly object _gate = new object();
        private readonly DateTime _start = DateTime.UtcNow;

        public TrafficLog(TextWriter? writer) { _writer = writer; }

        public bool Enabled => _writer != null;

        public void Sent(byte[] data) => Write("->", data, 0, data.Length);

        public void Received(ArraySegment<byte> data) => Write("<-", data.Array!, data.Offset, data.Count);

        public void Note(string text)
        {
            if (_writer == null) return;
            lock (_gate) _writer.WriteLine(Stamp() + " -- " + text);
        }

        private string Stamp() => (DateTime.UtcNow - _start).TotalMilliseconds.ToString("0000000.000", CultureInfo.InvariantCulture);

        private void Write(string direction, byte[] data, int offset, int count)
        {
            if (_writer == null) return;
            var sb = new StringBuilder(count + 24);
            sb.Append(Stamp()).Append(' ').Append(direction).Append(' ');
            for (int i = offset; i < offset + count; i++)
            {
                byte b = data[i];
                if (b >= 0x20 && b < 0x7f && b != (byte)'\\') sb.Append((char)b);
                else sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }
            lock (_gate) _writer.WriteLine(sb.ToString());
        }
    }
}
