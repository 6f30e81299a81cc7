using KgdbOe.Unwind;

namespace KgdbOe.PowerShell
{
    /// <summary>One frame of a kernel backtrace.</summary>
    public sealed class KernelStackFrame
    {
        internal KernelStackFrame(KernelTargetSession target, StackFrame frame, string? threadId, int? cpu,
            System.Collections.Generic.IReadOnlyList<KernelFunctionArgument>? arguments = null)
        {
            Arguments = arguments;
            Target = target;
            Frame = frame;
            ThreadId = threadId;
            Cpu = cpu;
            // Call frames hold return addresses: named like the kernel's %pB, by the call they follow.
            Location = frame.Source == FrameSource.Regs ? CodeLocation.Describe(target, frame.Pc) : CodeLocation.DescribeReturnAddress(target, frame.Pc);
            Function = Location == null ? null : Location.Split('+', ' ')[0];
            Module = Location != null && Location.EndsWith("]", System.StringComparison.Ordinal) && Location.LastIndexOf(" [", System.StringComparison.Ordinal) is int open && open > 0
                ? Location.Substring(open + 2, Location.Length - open - 3) : "";
        }

        public KernelTargetSession Target { get; }
        public int Index => Frame.Index;
        public ulong Pc => Frame.Pc;
        public ulong Sp => Frame.Sp;

        /// <summary>The pc as symbol+0x1f (null outside the session's symbols).</summary>
        public string? Location { get; }

        /// <summary>The symbol alone, without the offset.</summary>
        public string? Function { get; }

        /// <summary>The module the pc lies in; empty for vmlinux.</summary>
        public string Module { get; }

        /// <summary>orc, fp (frame-pointer guess) or regs (a register set: the CPU's, a pt_regs, a switch frame).</summary>
        public string Unwinder => Frame.Source switch { FrameSource.Orc => "orc", FrameSource.FramePointer => "fp", _ => "regs" };

        /// <summary>False from the first frame guessed without ORC data on.</summary>
        public bool Reliable => Frame.Reliable;

        /// <summary>The thread the stack belongs to (null: the stopped CPU's).</summary>
        public string? ThreadId { get; }
        public int? Cpu { get; }

        /// <summary>Pipes into Get-KernelDisassembly -Address.</summary>
        public ulong Address => Frame.Pc;

        /// <summary>
        /// With -Arguments, on the innermost frame stopped at a function's first instruction: its parameters,
        /// named and typed from BTF, valued from rdi, rsi, rdx, rcx, r8, r9. Null elsewhere (later the registers
        /// no longer hold them).
        /// </summary>
        public System.Collections.Generic.IReadOnlyList<KernelFunctionArgument>? Arguments { get; }

        public StackFrame Frame { get; }

        public override string ToString() => $"#{Index} {Location ?? "0x" + Pc.ToString("x16")}";
    }
}
