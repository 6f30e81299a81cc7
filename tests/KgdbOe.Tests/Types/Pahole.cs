using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace KgdbOe.Tests.Types
{
    /// <summary>One top-level member as pahole prints it: "/* offset size */" or, for a bit field, "/* offset: bit size */".</summary>
    internal sealed record PaholeMember(string Declaration, ulong Offset, ulong Size, int? BitPosition, int? BitWidth);

    /// <summary>Runs pahole (dwarves) with its own BTF loader and reads the layout it prints for one struct.</summary>
    internal static class Pahole
    {
        private static readonly Regex Comment = new Regex(@"/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*/\s*$", RegexOptions.Compiled);
        private static readonly Regex BitWidthRegex = new Regex(@":\s*(\d+)\s*;", RegexOptions.Compiled);

        public static bool Available => FindExecutable("pahole") != null;

        private static string? FindExecutable(string name)
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        /// <summary>
        /// The top-level members of each struct pahole prints for `pahole -F btf -C a,b,c file` (one run for all: pahole
        /// reads the whole BTF each time), by struct name; a name pahole does not know is missing from the result.
        /// </summary>
        public static Dictionary<string, List<PaholeMember>> RunMany(string file, IEnumerable<string> structNames)
        {
            string text = Run(file, string.Join(",", structNames));
            var result = new Dictionary<string, List<PaholeMember>>(StringComparer.Ordinal);
            var header = new Regex(@"^(?:struct|union) (\w+) \{$");
            var chunk = new System.Text.StringBuilder();
            string? current = null;
            foreach (string line in text.Split('\n'))
            {
                Match m = header.Match(line);
                if (current == null && m.Success)
                {
                    current = m.Groups[1].Value;
                    chunk.Clear();
                }
                if (current == null) continue;
                chunk.Append(line).Append('\n');
                if (line.StartsWith("}", StringComparison.Ordinal)) // "};" or "} __attribute__((__aligned__(64)));"
                {
                    if (!result.ContainsKey(current)) result[current] = ParseTopLevel(chunk.ToString())!; // the first definition
                    current = null;
                }
            }
            return result;
        }

        /// <summary>The text of `pahole -F btf -C name file` (stderr, e.g. "Unknown kind 17" from an old pahole, is dropped).</summary>
        public static string Run(string file, string structName)
        {
            var psi = new ProcessStartInfo("pahole")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { "-F", "btf", "-C", structName, file }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            _ = stderr.Result;
            if (p.ExitCode != 0) throw new InvalidOperationException("pahole exited with " + p.ExitCode + " for " + structName);
            return text;
        }

        /// <summary>
        /// The members pahole lists at the top level of the first definition in <paramref name="text"/>; an anonymous
        /// struct/union member is one entry (its closing "};" or "} name;" line). Null when pahole printed nothing.
        /// </summary>
        public static List<PaholeMember>? ParseTopLevel(string text)
        {
            var members = new List<PaholeMember>();
            int depth = 0;
            bool started = false;
            var openDeclarations = new Stack<string>();
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith("/*", StringComparison.Ordinal)) continue;
                if (!started)
                {
                    if (line.EndsWith("{", StringComparison.Ordinal)) { started = true; depth = 1; }
                    continue;
                }
                if (line.EndsWith("{", StringComparison.Ordinal))
                {
                    depth++;
                    openDeclarations.Push(line);
                    continue;
                }
                if (line.StartsWith("}", StringComparison.Ordinal))
                {
                    depth--;
                    if (depth == 0) break; // the end of the struct
                    string opener = openDeclarations.Pop();
                    if (depth == 1) Add(members, opener + " " + line, line);
                    continue;
                }
                if (depth == 1) Add(members, line, line);
            }
            return started ? members : null;
        }

        private static void Add(List<PaholeMember> members, string declaration, string line)
        {
            Match m = Comment.Match(line);
            if (!m.Success) return; // pahole's own lines such as "unsigned int :0;" (forced alignment) have no offsets
            ulong offset = ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ulong size = ulong.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            int? bit = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : null;
            int? width = null;
            string decl = line.Substring(0, m.Index);
            if (bit != null)
            {
                Match w = BitWidthRegex.Match(decl);
                if (w.Success) width = int.Parse(w.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            members.Add(new PaholeMember(declaration.Substring(0, Math.Min(declaration.Length, declaration.Length - (line.Length - m.Index))).Trim(), offset, size, bit, width));
        }
    }
}
