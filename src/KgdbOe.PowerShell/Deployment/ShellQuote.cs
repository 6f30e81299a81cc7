namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>Quoting for POSIX sh (dash, busybox ash): every value we pass goes through here.</summary>
    internal static class ShellQuote
    {
        public static string Quote(string value) => "'" + value.Replace("'", "'\\''") + "'";
    }
}
