namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>What one remote command produced.</summary>
    internal sealed class RemoteCommandResult
    {
        public RemoteCommandResult(string command, int exitStatus, string output, string error)
        {
            Command = command;
            ExitStatus = exitStatus;
            Output = output;
            Error = error;
        }

        public string Command { get; }

        /// <summary>-1 when the command ended without a status (killed by a signal).</summary>
        public int ExitStatus { get; }

        public string Output { get; }

        public string Error { get; }

        public bool Succeeded => ExitStatus == 0;
    }
}
