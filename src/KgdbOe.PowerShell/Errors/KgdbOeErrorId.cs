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
        /// <summary>No type of that name in the kernel's BTF (ObjectNotFound; target object: the name).</summary>
        public const string TypeNotFound = "KgdbOe.TypeNotFound";
        /// <summary>The kernel has no BTF (no __start_BTF/__stop_BTF symbols, or no symbols at all) and no -BtfPath was given (ObjectNotFound).</summary>
        public const string NoBtf = "KgdbOe.NoBtf";
        /// <summary>The BTF (file, cache or target memory) is truncated or corrupt (InvalidData).</summary>
        public const string BadBtf = "KgdbOe.BadBtf";
        /// <summary>The type has no member of that name (ObjectNotFound; target object: "type.member").</summary>
        public const string MemberNotFound = "KgdbOe.MemberNotFound";
        /// <summary>A typed read through a pointer the kernel cannot read: null, not a kernel address, or refused (ReadError; target object: the address).</summary>
        public const string BadPointer = "KgdbOe.BadPointer";
        /// <summary>A kernel list that loops without coming back to its head (InvalidData; target object: the node met twice).</summary>
        public const string ListCycle = "KgdbOe.ListCycle";
        /// <summary>A pending breakpoint's module did not load within the wait (OperationTimeout; target object: the breakpoint).</summary>
        public const string ModuleNotLoaded = "KgdbOe.ModuleNotLoaded";
        /// <summary>A breakpoint's condition scriptblock threw (the hit is resumed; InvalidOperation; target object: the hit record).</summary>
        public const string ConditionFailed = "KgdbOe.ConditionFailed";
        /// <summary>Stepping out of or over a call needs the function around pc, and pc lies in none (ObjectNotFound; target object: pc).</summary>
        public const string NotInFunction = "KgdbOe.NotInFunction";
        /// <summary>The keyed (v2) handshake got no answer that authenticates under the key: wrong key, a keyless module, or nothing there (AuthenticationError; target object: the endpoint). The kernel was not stopped.</summary>
        public const string AuthenticationFailed = "KgdbOe.AuthenticationFailed";
        /// <summary>
        /// The kernel accepts hardware breakpoints and watchpoints but never reports a hit (stock x86 KGDB; Set-KernelBreakpoint
        /// checked with a watchpoint on jiffies). No breakpoint was set (NotImplemented; target object: the address).
        /// </summary>
        public const string HardwareBreakpointUnsupported = "KgdbOe.HardwareBreakpointUnsupported";
        /// <summary>Export-KernelCore: the kernel has no vmcoreinfo (built without VMCORE_INFO / CRASH_CORE), which crash and drgn need (ObjectNotFound; target: the session).</summary>
        public const string NoVmcoreInfo = "KgdbOe.NoVmcoreInfo";
        /// <summary>Export-KernelCore: the kernel's resource tree lists no System RAM (ObjectNotFound; target: the session).</summary>
        public const string NoSystemRam = "KgdbOe.NoSystemRam";
        /// <summary>Export-KernelCore: the disk filled up; the partial file was removed (WriteError).</summary>
        public const string DiskFull = "KgdbOe.DiskFull";
        /// <summary>Export-KernelCore: pages of System RAM could not be read; the core is complete with zeros there (non-terminating ReadError; target: the summary).</summary>
        public const string UnreadablePages = "KgdbOe.UnreadablePages";
    }
}
