using System;
using System.Management.Automation;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// A deployment step failed in a way the user can act on. Carries what an ErrorRecord needs
    /// (a stable error id, a category and the object it concerns) so the cmdlets only translate.
    /// </summary>
    public sealed class DeploymentException : Exception
    {
        public DeploymentException(string errorId, ErrorCategory category, object? target, string message,
            Exception? inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Category = category;
            Target = target;
        }

        /// <summary>Stable identifier scripts can test ($_.FullyQualifiedErrorId starts with it).</summary>
        public string ErrorId { get; }

        public ErrorCategory Category { get; }

        public object? Target { get; }

        public ErrorRecord ToErrorRecord() => new ErrorRecord(this, ErrorId, Category, Target);
    }

    /// <summary>
    /// The error ids deployment can raise, in one place so docs and tests can refer to them. Same
    /// "KgdbOe." prefix as KgdbOeErrorId; they never change once released.
    /// </summary>
    public static class DeploymentErrorIds
    {
        public const string SshHostUnreachable = "KgdbOe.SshHostUnreachable";
        public const string SshConnectionTimeout = "KgdbOe.SshConnectionTimeout";
        public const string SshConnectionFailed = "KgdbOe.SshConnectionFailed";
        public const string SshAuthenticationFailed = "KgdbOe.SshAuthenticationFailed";
        public const string SshHostKeyUnknown = "KgdbOe.SshHostKeyUnknown";
        public const string SshHostKeyChanged = "KgdbOe.SshHostKeyChanged";
        public const string SshHostKeyRevoked = "KgdbOe.SshHostKeyRevoked";
        public const string SshKeyFileInvalid = "KgdbOe.SshKeyFileInvalid";
        public const string KnownHostsFileInvalid = "KgdbOe.KnownHostsFileInvalid";
        public const string RemoteCommandFailed = "KgdbOe.RemoteCommandFailed";
        public const string RemoteCommandTimeout = "KgdbOe.RemoteCommandTimeout";
        public const string RemoteUserNotRoot = "KgdbOe.RemoteUserNotRoot";
        public const string KernelWithoutKgdb = "KgdbOe.KernelWithoutKgdb";
        public const string KernelLockdown = "KgdbOe.KernelLockdown";
        public const string KgdboeAlreadyLoaded = "KgdbOe.KgdboeAlreadyLoaded";
        public const string KgdboeNotLoaded = "KgdbOe.KgdboeNotLoaded";
        public const string KgdboeModuleFileNotFound = "KgdbOe.KgdboeModuleFileNotFound";
        public const string KgdboeSourcesNotFound = "KgdbOe.KgdboeSourcesNotFound";
        public const string BuildToolsMissing = "KgdbOe.BuildToolsMissing";
        public const string KernelHeadersMissing = "KgdbOe.KernelHeadersMissing";
        public const string KgdboeBuildFailed = "KgdbOe.KgdboeBuildFailed";
        public const string KgdboeLoadRefused = "KgdbOe.KgdboeLoadRefused";
        public const string KgdboeReadyLineMissing = "KgdbOe.KgdboeReadyLineMissing";
        public const string KgdboeModuleInUse = "KgdbOe.KgdboeModuleInUse";
        public const string KgdboeUnloadRefused = "KgdbOe.KgdboeUnloadRefused";
        public const string InvalidModuleParameter = "KgdbOe.InvalidModuleParameter";
    }
}
