using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>One lab VM as tests/lab/KgdbOeLab.psm1 describes it in its state.json.</summary>
    public sealed class LabState
    {
        public const string PrimaryVariable = "KGDBOE_LAB_STATE";
        public const string SecondVariable = "KGDBOE_LAB2_STATE";

        public string Name { get; set; } = "";
        public string KernelRelease { get; set; } = "";
        public int SshPort { get; set; }
        public int? DebugPort { get; set; }
        public int? GdbPort { get; set; }
        public string KeyPath { get; set; } = "";
        public string KnownHostsPath { get; set; } = "";
        public string SystemMap { get; set; } = "";
        public string Vmlinux { get; set; } = "";
        public string Kdir { get; set; } = "";
        public bool Kaslr { get; set; }

        /// <summary>A local UDP port for this lab's debugger, the same in every run.</summary>
        public int FixedClientPort => 47000 + Name.Aggregate(0, (h, c) => (h * 31 + c) % 1000);

        public static LabState Load(string variable = PrimaryVariable)
        {
            string? path = Environment.GetEnvironmentVariable(variable);
            Assert.False(string.IsNullOrEmpty(path), $"{variable} is not set: the test runner must start a lab and give its state.json.");
            Assert.True(File.Exists(path), $"{variable} names '{path}', which does not exist.");
            LabState? state = JsonSerializer.Deserialize<LabState>(File.ReadAllText(path!), new JsonSerializerOptions { PropertyNameCaseInsensitive = true });
            Assert.NotNull(state);
            return state!;
        }

        /// <summary>Runs a command in the guest over SSH and returns its standard output.</summary>
        public async Task<string> SshAsync(string command, TimeSpan? timeout = null, string? stdin = null)
        {
            var (code, output, error) = await RunSshAsync(command, timeout ?? TimeSpan.FromSeconds(60), stdin == null ? null : File.OpenRead(stdin));
            Assert.True(code == 0, $"ssh {Name} '{command}' exited {code}: {error}");
            return output;
        }

        public async Task<(int Code, string Output, string Error)> RunSshAsync(string command, TimeSpan timeout, Stream? input = null)
        {
            var psi = new ProcessStartInfo("ssh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { "-i", KeyPath, "-p", SshPort.ToString(), "-o", "UserKnownHostsFile=" + KnownHostsPath,
                                         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "root@127.0.0.1", command })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (input != null) { using (input) await input.CopyToAsync(process.StandardInput.BaseStream); }
            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, await stdout, "timed out after " + timeout + ": " + await stderr);
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
