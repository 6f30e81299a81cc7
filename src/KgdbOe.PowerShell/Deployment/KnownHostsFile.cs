using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Text;

namespace KgdbOe.PowerShell.Deployment
{
    internal enum HostKeyStatus
    {
        /// <summary>The file holds this very key for the host.</summary>
        Trusted,
        /// <summary>The file holds no key of this type for the host.</summary>
        Unknown,
        /// <summary>The file holds a different key of the same type for the host: possible attack.</summary>
        Changed,
        /// <summary>The key is listed under @revoked.</summary>
        Revoked,
    }

    /// <summary>What the known_hosts file says about one key, and which line said it.</summary>
    internal sealed class HostKeyVerdict
    {
        public HostKeyVerdict(HostKeyStatus status, int lineNumber)
        {
            Status = status;
            LineNumber = lineNumber;
        }

        public HostKeyStatus Status { get; }

        /// <summary>The line that decided (1-based), or 0 when no line mentions the host.</summary>
        public int LineNumber { get; }
    }

    /// <summary>
    /// An OpenSSH known_hosts file: plain names, [host]:port entries, comma lists, * ? and !
    /// patterns, hashed |1|salt|hash entries and @revoked lines (@cert-authority lines are
    /// skipped: this client does not verify host certificates). New keys are appended in plain
    /// form, as OpenSSH does with HashKnownHosts off.
    /// </summary>
    internal sealed class KnownHostsFile
    {
        private readonly List<Entry> _entries;

        private KnownHostsFile(string path, List<Entry> entries)
        {
            Path = path;
            _entries = entries;
        }

        public string Path { get; }

        /// <summary>Reads the file; a missing file is an empty one (it is created on the first accept).</summary>
        public static KnownHostsFile Load(string path)
        {
            var entries = new List<Entry>();
            if (!File.Exists(path)) return new KnownHostsFile(path, entries);
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new DeploymentException(DeploymentErrorIds.KnownHostsFileInvalid, ErrorCategory.ReadError, path,
                    $"Cannot read the known hosts file '{path}': {e.Message}", e);
            }
            for (int i = 0; i < lines.Length; i++)
            {
                var entry = Entry.Parse(lines[i], i + 1);
                if (entry != null) entries.Add(entry);
            }
            return new KnownHostsFile(path, entries);
        }

        /// <summary>The name OpenSSH files a host under: "host" on port 22, "[host]:port" otherwise.</summary>
        public static string HostEntryName(string host, int port) =>
            port == 22 ? host.ToLowerInvariant() : $"[{host.ToLowerInvariant()}]:{port}";

        public HostKeyVerdict Check(string host, int port, SshHostKey key)
        {
            string name = HostEntryName(host, port);
            foreach (var e in _entries)
            {
                if (e.Marker == "@revoked" && e.Key != null && e.Key.SameKeyAs(key) && e.MatchesHost(name))
                    return new HostKeyVerdict(HostKeyStatus.Revoked, e.LineNumber);
            }
            int changedLine = 0;
            foreach (var e in _entries)
            {
                if (e.Marker != null || e.Key == null || !e.MatchesHost(name)) continue;
                if (e.Key.SameKeyAs(key)) return new HostKeyVerdict(HostKeyStatus.Trusted, e.LineNumber);
                if (e.Key.KeyType == key.KeyType && changedLine == 0) changedLine = e.LineNumber;
            }
            return changedLine != 0
                ? new HostKeyVerdict(HostKeyStatus.Changed, changedLine)
                : new HostKeyVerdict(HostKeyStatus.Unknown, 0);
        }

        /// <summary>Key types the file trusts for this host, so the client can ask the server for those first.</summary>
        public IReadOnlyCollection<string> KnownKeyTypes(string host, int port)
        {
            string name = HostEntryName(host, port);
            var types = new List<string>();
            foreach (var e in _entries)
            {
                if (e.Marker == null && e.Key != null && e.MatchesHost(name) && !types.Contains(e.Key.KeyType))
                    types.Add(e.Key.KeyType);
            }
            return types;
        }

        public void Add(string host, int port, SshHostKey key)
        {
            string line = $"{HostEntryName(host, port)} {key.KeyType} {key.Base64}";
            try
            {
                string? dir = System.IO.Path.GetDirectoryName(Path);
                if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                bool needsNewline = File.Exists(Path) && EndsWithoutNewline(Path);
                File.AppendAllText(Path, (needsNewline ? "\n" : "") + line + "\n");
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new DeploymentException(DeploymentErrorIds.KnownHostsFileInvalid, ErrorCategory.WriteError, Path,
                    $"Cannot add the host key to '{Path}': {e.Message}", e);
            }
            _entries.Add(Entry.Parse(line, _entries.Count + 1)!);
        }

        private static bool EndsWithoutNewline(string path)
        {
            using (var f = File.OpenRead(path))
            {
                if (f.Length == 0) return false;
                f.Seek(-1, SeekOrigin.End);
                return f.ReadByte() != '\n';
            }
        }

        private sealed class Entry
        {
            private readonly string[] _patterns;

            private Entry(string? marker, string[] patterns, SshHostKey? key, int lineNumber)
            {
                Marker = marker;
                _patterns = patterns;
                Key = key;
                LineNumber = lineNumber;
            }

            public string? Marker { get; }

            /// <summary>Null when the key field does not decode: such a line never matches a key.</summary>
            public SshHostKey? Key { get; }

            public int LineNumber { get; }

            public static Entry? Parse(string line, int lineNumber)
            {
                string trimmed = line.Trim();
                if (trimmed.Length == 0 || trimmed[0] == '#') return null;
                var fields = trimmed.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                int i = 0;
                string? marker = null;
                if (fields[0].StartsWith("@", StringComparison.Ordinal))
                {
                    marker = fields[0].ToLowerInvariant();
                    i = 1;
                }
                if (fields.Length < i + 3) return null;
                SshHostKey? key = null;
                try
                {
                    key = new SshHostKey(Convert.FromBase64String(fields[i + 2]));
                    if (key.KeyType != fields[i + 1]) key = null;
                }
                catch (FormatException)
                {
                    key = null;
                }
                return new Entry(marker, fields[i].Split(','), key, lineNumber);
            }

            // OpenSSH semantics: a negated pattern that matches vetoes the line; otherwise any match wins.
            public bool MatchesHost(string name)
            {
                bool matched = false;
                foreach (var pattern in _patterns)
                {
                    if (pattern.StartsWith("|1|", StringComparison.Ordinal))
                    {
                        if (HashedMatches(pattern, name)) matched = true;
                    }
                    else if (pattern.StartsWith("!", StringComparison.Ordinal))
                    {
                        if (Glob(pattern.Substring(1).ToLowerInvariant(), name, 0, 0)) return false;
                    }
                    else if (Glob(pattern.ToLowerInvariant(), name, 0, 0))
                    {
                        matched = true;
                    }
                }
                return matched;
            }

            // |1|base64(salt)|base64(HMAC-SHA1(key: salt, message: host entry name))
            private static bool HashedMatches(string pattern, string name)
            {
                var parts = pattern.Split('|');
                if (parts.Length != 4) return false;
                try
                {
                    byte[] salt = Convert.FromBase64String(parts[2]);
                    byte[] expected = Convert.FromBase64String(parts[3]);
                    using (var hmac = new HMACSHA1(salt))
                    {
                        byte[] actual = hmac.ComputeHash(Encoding.UTF8.GetBytes(name));
                        if (actual.Length != expected.Length) return false;
                        for (int i = 0; i < actual.Length; i++)
                        {
                            if (actual[i] != expected[i]) return false;
                        }
                        return true;
                    }
                }
                catch (FormatException)
                {
                    return false;
                }
            }

            private static bool Glob(string pattern, string text, int p, int t)
            {
                while (p < pattern.Length)
                {
                    char c = pattern[p];
                    if (c == '*')
                    {
                        for (int k = t; k <= text.Length; k++)
                        {
                            if (Glob(pattern, text, p + 1, k)) return true;
                        }
                        return false;
                    }
                    if (t >= text.Length || (c != '?' && c != text[t])) return false;
                    p++;
                    t++;
                }
                return t == text.Length;
            }
        }
    }
}
