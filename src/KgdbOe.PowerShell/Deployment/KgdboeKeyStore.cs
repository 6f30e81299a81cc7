using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using System.Text.RegularExpressions;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// The user's keys of keyed kgdboe modules, one file per debug endpoint:
    /// $XDG_CONFIG_HOME/kgdboe/keys/&lt;host&gt;_&lt;port&gt; (~/.config/kgdboe/keys/... by default;
    /// %APPDATA%\kgdboe\keys on Windows), 64 hex digits and a newline. On Unix the folder is made
    /// 0700 and each file 0600 before a key is written into it (chmod(2) through libc: netstandard2.0
    /// has no File.SetUnixFileMode).
    /// </summary>
    internal static class KgdboeKeyStore
    {
        private static readonly Regex Unsafe = new Regex("[^A-Za-z0-9_.-]");

        public static string Folder
        {
            get
            {
                string? xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
                string root = !string.IsNullOrEmpty(xdg) ? xdg!
                    : RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                        ? Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData)
                        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
                return Path.Combine(root, "kgdboe", "keys");
            }
        }

        /// <summary>The file for the endpoint Connect-KernelTarget uses (host as given, UDP port).</summary>
        public static string PathFor(string host, int port) =>
            Path.Combine(Folder, Unsafe.Replace(host, "_") + "_" + port.ToString(CultureInfo.InvariantCulture));

        /// <summary>Stores key (32 bytes) for host:port, readable by the user alone. Returns the file's path.</summary>
        public static string Save(string host, int port, byte[] key)
        {
            string folder = Folder;
            Directory.CreateDirectory(folder);
            Chmod(folder, 0x1c0); // 0700
            string path = PathFor(host, port);
            using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None)) { }
            Chmod(path, 0x180); // 0600, before the key is in it
            File.WriteAllText(path, ToHex(key) + "\n", Encoding.ASCII);
            return path;
        }

        /// <summary>The stored key for host:port, or null when there is none.</summary>
        public static SecureString? Load(string host, int port)
        {
            string path = PathFor(host, port);
            if (!File.Exists(path)) return null;
            string text = File.ReadAllText(path, Encoding.ASCII).Trim();
            var s = new SecureString();
            foreach (char c in text) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        public static void Remove(string host, int port)
        {
            string path = PathFor(host, port);
            if (File.Exists(path)) File.Delete(path);
        }

        /// <summary>The 32 key bytes of a SecureString holding 64 hex digits; null when it holds anything else.</summary>
        public static byte[]? ToKeyBytes(SecureString key)
        {
            IntPtr p = Marshal.SecureStringToGlobalAllocUnicode(key);
            try
            {
                if (key.Length != 64) return null;
                var bytes = new byte[32];
                for (int i = 0; i < 64; i++)
                {
                    int v = HexValue((char)Marshal.ReadInt16(p, 2 * i));
                    if (v < 0) { Array.Clear(bytes, 0, bytes.Length); return null; }
                    bytes[i / 2] = (byte)(bytes[i / 2] << 4 | v);
                }
                return bytes;
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(p);
            }
        }

        public static SecureString ToSecureString(byte[] key)
        {
            var s = new SecureString();
            foreach (char c in ToHex(key)) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        internal static string ToHex(byte[] key)
        {
            var sb = new StringBuilder(key.Length * 2);
            foreach (byte b in key) sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        private static int HexValue(char c) =>
            c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        private static void Chmod(string path, uint mode)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return; // the profile folder is the user's
            if (chmod(path, mode) != 0)
                throw new IOException($"Cannot restrict {path} to its owner (chmod failed, errno {Marshal.GetLastWin32Error()}).");
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(string path, uint mode);
    }
}
