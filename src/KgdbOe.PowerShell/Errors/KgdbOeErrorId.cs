namespace KgdbOe.PowerShell
{
    /// <summary>
    /// The stable error ids of the module. Scripts and Pester suites match on these
    /// (<c>Should -Throw -ErrorId KgdbOe.UnknownSymbol</c>), so they never change once released.
    /// </summary>
    public static class KgdbOeErrorId
    {
        public const string NoSession = "KgdbOe.NoSession";
        public const string SessionClosed = "KgdbOe.SessionClosed";
        public const string BadAddress = "KgdbOe.BadAddress";
        public const string BadEndpoint = "KgdbOe.BadEndpoint";
        public const string BadArgument = "KgdbOe.BadArgument";
        public const string UnknownSymbol = "KgdbOe.UnknownSymbol";
        public const string UnknownRegister = "KgdbOe.UnknownRegister";
        public const string BreakpointNotFound = "KgdbOe.BreakpointNotFound";
        public const string SymbolLoadFailed = "KgdbOe.SymbolLoadFailed";
        public const string TargetError = "KgdbOe.TargetError";
        public const string Timeout = "KgdbOe.Timeout";
        public const string ConnectionFailed = "KgdbOe.ConnectionFailed";
        public const string ProtocolError = "KgdbOe.ProtocolError";
        public const string InvalidState = "KgdbOe.InvalidState";
        public const string FileExists = "KgdbOe.FileExists";
        public const string FileError = "KgdbOe.FileError";
        /// <summary>An address that lies in no function of the session's symbols (Get-KernelDisassembly).</summary>
        public const string NoFunction = "KgdbOe.NoFunction";
        /// <summary>A stack frame that could not be unwound; the frames before it were written (Get-KernelStack).</summary>
        public const string UnwindFailed = "KgdbOe.UnwindFailed";
    }
}
