using System;
using System.Collections.Generic;

namespace KgdbOe.Protocol
{
    /// <summary>Undoes '}' escapes and '*' run lengths in a received payload (in one pass, as they were applied).</summary>
    internal static class PayloadDecoder
    {
        public static bool TryDecode(byte[] raw, out byte[] payload, out string? error)
        {
            var output = new List<byte>(raw.Length);
            error = null;
            payload = Array.Empty<byte>();
            for (int i = 0; i < raw.Length; i++)
            {
                byte b = raw[i];
                if (b == (byte)'}')
                {
                    if (i + 1 >= raw.Length) { error = "the payload ends inside an escape"; return false; }
                    output.Add((byte)(raw[++i] ^ 0x20));
                }
                else if (b == (byte)'*')
                {
                    // "x*n" repeats x (n - 29) more times; n is a printable count character.
                    if (output.Count == 0) { error = "a run length with nothing to repeat"; return false; }
                    if (i + 1 >= raw.Length) { error = "the payload ends inside a run length"; return false; }
                    int repeat = raw[++i] - 29;
                    if (repeat < 0) { error = $"run length character 0x{raw[i]:x2} is below ' '"; return false; }
                    byte last = output[output.Count - 1];
                    for (int r = 0; r < repeat; r++) output.Add(last);
                }
                else output.Add(b);
            }
            payload = output.ToArray();
            return true;
        }
    }
}
