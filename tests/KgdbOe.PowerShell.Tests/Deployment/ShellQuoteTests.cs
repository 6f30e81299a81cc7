using System.Diagnostics;
using KgdbOe.PowerShell.Deployment;
using Xunit;

namespace KgdbOe.PowerShell.Tests.Deployment
{
    /// <summary>
    /// Quoting for POSIX sh, checked against the real /bin/sh of this machine (dash on Debian):
    /// printf '%s' QUOTED must print the value back byte for byte, with nothing expanded.
    /// </summary>
    public sealed class ShellQuoteTests
    {
        [Theory]
        [InlineData("")]
        [InlineData("plain")]
        [InlineData("two words")]
        [InlineData("it's")]
        [InlineData("''")]
        [InlineData("'\\''")]
        [InlineData("$HOME $(id -u) `id -u` ${PATH}")]
        [InlineData("a\"b\\c")]
        [InlineData("line1\nline2\ttab")]
        [InlineData("; rm -rf /nonexistent; echo")]
        [InlineData("*?[a-z]~ !#&|<>()")]
        [InlineData("/tmp/kgdboe dir/kgdboe.ko")]
        public void The_shell_reads_the_value_back_unchanged(string value)
        {
            Assert.Equal(value, RunSh("printf '%s' " + ShellQuote.Quote(value)));
        }

        [Fact]
        public void Wraps_in_single_quotes_and_closes_them_around_a_single_quote()
        {
            Assert.Equal("'a'\\''b'", ShellQuote.Quote("a'b"));
            Assert.Equal("''", ShellQuote.Quote(""));
        }

        [Fact]
        public void Two_quoted_values_stay_two_arguments()
        {
            string script = "for a in " + ShellQuote.Quote("x y") + " " + ShellQuote.Quote("it's") + "; do printf '[%s]' \"$a\"; done";
            Assert.Equal("[x y][it's]", RunSh(script));
        }

        private static string RunSh(string script)
        {
            var start = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            using var sh = Process.Start(start)!;
            string output = sh.StandardOutput.ReadToEnd();
            string error = sh.StandardError.ReadToEnd();
            sh.WaitForExit();
            Assert.True(sh.ExitCode == 0, $"sh exited {sh.ExitCode}: {error}");
            return output;
        }
    }
}
