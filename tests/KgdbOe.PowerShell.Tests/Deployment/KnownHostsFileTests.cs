using System;
using System.Diagnostics;
using System.IO;
using KgdbOe.PowerShell.Deployment;
using Xunit;

namespace KgdbOe.PowerShell.Tests.Deployment
{
    /// <summary>
    /// known_hosts as OpenSSH writes and reads it. The keys and the hashed lines below were made
    /// with OpenSSH's ssh-keygen (-t ed25519 / -t ecdsa, then -H on a plain file); one test hashes
    /// a file with this machine's ssh-keygen and checks that ssh-keygen -F and the parser agree.
    /// </summary>
    public sealed class KnownHostsFileTests : IDisposable
    {
        private const string KeyA = "AAAAC3NzaC1lZDI1NTE5AAAAIPIfCsEKZuQR0lzwTy1xJBuSGjCGCI2PDRaswzgKrRuA";
        private const string KeyB = "AAAAC3NzaC1lZDI1NTE5AAAAIH4Gp7gzqCFXsjDcmsgtTiPXneGZaPgFP1QYdGho8sfL";
        private const string KeyC = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFv/YncR2ad8d8AptAP3Yw+fqh+W/BQki0LqyzZ3+mqz1rgHtI6XrifDVJyCsalLpvuTE6yWzit41Knoh0YCs78=";

        // ssh-keygen -H of "[127.0.0.1]:2222 ssh-ed25519 KeyA" and "kgdboe-target ssh-ed25519 KeyA".
        private const string HashedPort2222 = "|1|CDPkvSnvcbyVh6iR+xis4hDaomU=|pB8SgG6QKJQCrZK0vRHR1tdRsow=";
        private const string HashedTarget = "|1|babxu+Qs1C6X6xpaLMMB1bBsWvU=|fmWDdjxrXsoreYiR7KQClzUZWtA=";

        private static readonly SshHostKey A = Key(KeyA);
        private static readonly SshHostKey B = Key(KeyB);
        private static readonly SshHostKey C = Key(KeyC);

        private readonly string _dir = Path.Combine(Path.GetTempPath(), "kgdboe-knownhosts-" + Guid.NewGuid().ToString("N"));

        public KnownHostsFileTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, true);

        [Fact]
        public void Reads_the_key_type_and_fingerprint_as_openssh_prints_them()
        {
            Assert.Equal("ssh-ed25519", A.KeyType);
            Assert.Equal("ecdsa-sha2-nistp256", C.KeyType);
            // ssh-keygen -l -f of KeyA's .pub file.
            Assert.Equal("SHA256:z2vHP8vrvAyel8rfkOMij1xI2EXon8D5VambZwmr4AE", A.Fingerprint);
        }

        [Fact]
        public void Names_a_host_as_openssh_files_it()
        {
            Assert.Equal("target", KnownHostsFile.HostEntryName("Target", 22));
            Assert.Equal("[127.0.0.1]:2222", KnownHostsFile.HostEntryName("127.0.0.1", 2222));
        }

        [Fact]
        public void A_missing_file_knows_no_host()
        {
            var file = KnownHostsFile.Load(Path.Combine(_dir, "absent"));
            Assert.Equal(HostKeyStatus.Unknown, file.Check("target", 22, A).Status);
            Assert.Empty(file.KnownKeyTypes("target", 22));
        }

        [Fact]
        public void Plain_entries_trust_the_same_key_and_flag_another_of_the_same_type()
        {
            var file = Write(
                "# comment",
                "",
                $"other ssh-ed25519 {KeyB}",
                $"[127.0.0.1]:2222 ssh-ed25519 {KeyA}",
                $"target,192.0.2.1 ssh-ed25519 {KeyA}");
            Assert.Equal((HostKeyStatus.Trusted, 4), Verdict(file, "127.0.0.1", 2222, A));
            Assert.Equal((HostKeyStatus.Changed, 4), Verdict(file, "127.0.0.1", 2222, B));
            Assert.Equal((HostKeyStatus.Trusted, 5), Verdict(file, "192.0.2.1", 22, A));
            Assert.Equal((HostKeyStatus.Trusted, 5), Verdict(file, "TARGET", 22, A));
            // A host on another port is another host.
            Assert.Equal((HostKeyStatus.Unknown, 0), Verdict(file, "127.0.0.1", 22, A));
            // Another key type for a known host is not a change: OpenSSH asks for it.
            Assert.Equal((HostKeyStatus.Unknown, 0), Verdict(file, "target", 22, C));
            Assert.Equal(new[] { "ssh-ed25519" }, file.KnownKeyTypes("target", 22));
        }

        [Fact]
        public void Hashed_entries_made_by_ssh_keygen_match_their_host_only()
        {
            var file = Write($"{HashedPort2222} ssh-ed25519 {KeyA}", $"{HashedTarget} ssh-ed25519 {KeyA}");
            Assert.Equal((HostKeyStatus.Trusted, 1), Verdict(file, "127.0.0.1", 2222, A));
            Assert.Equal((HostKeyStatus.Trusted, 2), Verdict(file, "kgdboe-target", 22, A));
            Assert.Equal((HostKeyStatus.Changed, 2), Verdict(file, "kgdboe-target", 22, B));
            Assert.Equal((HostKeyStatus.Unknown, 0), Verdict(file, "127.0.0.1", 2223, A));
            Assert.Equal((HostKeyStatus.Unknown, 0), Verdict(file, "kgdboe-target2", 22, A));
        }

        [Fact]
        public void A_file_hashed_by_this_machines_ssh_keygen_agrees_with_ssh_keygen_F()
        {
            string path = Path.Combine(_dir, "known_hosts");
            File.WriteAllText(path, $"[localhost]:2200 ssh-ed25519 {KeyB}\nlab-guest ecdsa-sha2-nistp256 {KeyC}\n");
            Run("ssh-keygen", "-q", "-H", "-f", path);
            Assert.DoesNotContain("lab-guest", File.ReadAllText(path));
            var file = KnownHostsFile.Load(path);
            foreach (var (host, port, key) in new[] { ("localhost", 2200, B), ("lab-guest", 22, C) })
            {
                Assert.Equal(HostKeyStatus.Trusted, file.Check(host, port, key).Status);
                // ssh-keygen -F finds the same host (exit 0) in the same file.
                Assert.Contains(key.Base64, Run("ssh-keygen", "-F", KnownHostsFile.HostEntryName(host, port), "-f", path));
            }
            Assert.Equal(HostKeyStatus.Unknown, file.Check("lab-guest", 2200, C).Status);
        }

        [Fact]
        public void Patterns_wildcards_and_negation()
        {
            var file = Write(
                $"*.lab,!bad.lab ssh-ed25519 {KeyA}",
                $"10.0.2.? ssh-ed25519 {KeyB}");
            Assert.Equal(HostKeyStatus.Trusted, file.Check("vm1.lab", 22, A).Status);
            Assert.Equal(HostKeyStatus.Unknown, file.Check("bad.lab", 22, A).Status);
            Assert.Equal(HostKeyStatus.Trusted, file.Check("10.0.2.7", 22, B).Status);
            Assert.Equal(HostKeyStatus.Unknown, file.Check("10.0.2.17", 22, B).Status);
            Assert.Equal(HostKeyStatus.Changed, file.Check("10.0.2.7", 22, A).Status);
        }

        [Fact]
        public void A_revoked_key_is_revoked_even_when_another_line_trusts_it()
        {
            var file = Write(
                $"target ssh-ed25519 {KeyA}",
                $"@revoked * ssh-ed25519 {KeyA}",
                $"@cert-authority *.lab ssh-ed25519 {KeyB}");
            Assert.Equal((HostKeyStatus.Revoked, 2), Verdict(file, "target", 22, A));
            // A CA key is not a host key: it neither trusts nor changes anything.
            Assert.Equal((HostKeyStatus.Unknown, 0), Verdict(file, "vm.lab", 22, B));
        }

        [Fact]
        public void Lines_that_do_not_decode_never_match()
        {
            var file = Write(
                "target ssh-ed25519 not-base64!",
                $"target ssh-rsa {KeyA}",
                "target",
                $"target ssh-ed25519 {KeyA}");
            Assert.Equal((HostKeyStatus.Trusted, 4), Verdict(file, "target", 22, A));
        }

        [Fact]
        public void Add_appends_a_plain_line_that_ssh_keygen_finds()
        {
            string path = Path.Combine(_dir, "sub", "known_hosts");
            var file = KnownHostsFile.Load(path);
            file.Add("127.0.0.1", 2222, A);
            Assert.Equal(HostKeyStatus.Trusted, file.Check("127.0.0.1", 2222, A).Status);
            Assert.Equal($"[127.0.0.1]:2222 ssh-ed25519 {KeyA}\n", File.ReadAllText(path));
            Assert.Equal(HostKeyStatus.Trusted, KnownHostsFile.Load(path).Check("127.0.0.1", 2222, A).Status);
            Assert.Contains(KeyA, Run("ssh-keygen", "-F", "[127.0.0.1]:2222", "-f", path));
        }

        [Fact]
        public void Add_starts_a_new_line_after_a_file_without_a_final_newline()
        {
            string path = Path.Combine(_dir, "known_hosts");
            File.WriteAllText(path, $"other ssh-ed25519 {KeyB}");
            KnownHostsFile.Load(path).Add("target", 22, A);
            Assert.Equal(new[] { $"other ssh-ed25519 {KeyB}", $"target ssh-ed25519 {KeyA}" }, File.ReadAllLines(path));
        }

        private KnownHostsFile Write(params string[] lines)
        {
            string path = Path.Combine(_dir, "known_hosts");
            File.WriteAllText(path, string.Join("\n", lines) + "\n");
            return KnownHostsFile.Load(path);
        }

        private static (HostKeyStatus, int) Verdict(KnownHostsFile file, string host, int port, SshHostKey key)
        {
            var v = file.Check(host, port, key);
            return (v.Status, v.LineNumber);
        }

        private static SshHostKey Key(string base64) => new SshHostKey(Convert.FromBase64String(base64));

        private static string Run(string command, params string[] arguments)
        {
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in arguments) start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{command} {string.Join(" ", arguments)} exited {p.ExitCode}: {error}");
            return output;
        }
    }
}
