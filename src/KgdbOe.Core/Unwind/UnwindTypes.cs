using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.Unwind
{
    /// <summary>What produced a frame.</summary>
    public enum FrameSource
    {
        /// <summary>A register set: the CPU's own registers, a pt_regs on the stack, or a sleeping task's switch frame.</summary>
        Regs,

        /// <summary>An ORC call entry.</summary>
        Orc,

        /// <summary>The frame-pointer guess (rbp chain) where no ORC entry exists.</summary>
        FramePointer,
    }

    /// <summary>One frame of a kernel stack.</summary>
    public sealed class StackFrame
    {
        public StackFrame(int index, ulong pc, ulong sp, FrameSource source, bool reliable)
        {
            Index = index;
            Pc = pc;
            Sp = sp;
            Source = source;
            Reliable = reliable;
        }

        /// <summary>0 for the innermost frame.</summary>
        public int Index { get; }

        /// <summary>Where this frame executes: the interrupted pc for frame 0 and for frames from pt_regs, else a return address.</summary>
        public ulong Pc { get; }

        /// <summary>The stack pointer in this frame (for a call frame, just above its return address).</summary>
        public ulong Sp { get; }

        public FrameSource Source { get; }

        /// <summary>False from the first frame guessed without ORC data on (the kernel's state->error).</summary>
        public bool Reliable { get; }

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "#{0} pc 0x{1:x} sp 0x{2:x} {3}{4}", Index, Pc, Sp, Source, Reliable ? "" : " ?");
    }

    /// <summary>
    /// Where an unwind starts: the registers of a stopped CPU (from a trap, so <see cref="Signal"/> is true
    /// and <see cref="Registers"/> plays the full pt_regs), or a sleeping task's switch frame.
    /// </summary>
    public sealed class UnwindStart
    {
        public UnwindStart(ulong ip, ulong sp, ulong bp, bool signal, IReadOnlyDictionary<string, ulong>? registers)
        {
            Ip = ip;
            Sp = sp;
            Bp = bp;
            Signal = signal;
            Registers = registers;
        }

        public ulong Ip { get; }
        public ulong Sp { get; }
        public ulong Bp { get; }

        /// <summary>True when ip was interrupted (look up ip itself, not ip-1).</summary>
        public bool Signal { get; }

        /// <summary>
        /// The full register set by gdb name (rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8..r15, rip, eflags, cs, ss),
        /// the stand-in for pt_regs in the first frame; null for a sleeping task.
        /// </summary>
        public IReadOnlyDictionary<string, ulong>? Registers { get; }

        /// <summary>A sleeping task's start from its saved <c>thread.sp</c>: struct inactive_task_frame
        /// (arch/x86/include/asm/switch_to.h, the same in 6.1 and 6.12) is r15, r14, r13, r12, bx, bp, ret_addr.</summary>
        public static UnwindStart FromSwitchFrame(ulong threadSp, ulong bp, ulong returnAddress, bool returnsToForkEntry) =>
            new UnwindStart(returnAddress, threadSp + InactiveTaskFrameSize, bp, returnsToForkEntry, null);

        /// <summary>sizeof(struct inactive_task_frame) on x86-64.</summary>
        public const int InactiveTaskFrameSize = 7 * 8;

        /// <summary>offsetof(struct inactive_task_frame, bp).</summary>
        public const int InactiveTaskFrameBp = 5 * 8;

        /// <summary>offsetof(struct inactive_task_frame, ret_addr).</summary>
        public const int InactiveTaskFrameReturnAddress = 6 * 8;
    }

    /// <summary>How an unwind ended.</summary>
    public enum UnwindEnd
    {
        /// <summary>The entry code's user-mode boundary, or a kernel thread's first frame: the whole stack.</summary>
        EndOfStack,

        /// <summary>Stopped at the frame limit asked for.</summary>
        FrameLimit,

        /// <summary>A frame could not be unwound (no usable entry, unreadable or inconsistent stack).</summary>
        Failed,
    }

    /// <summary>The frames found and why the unwind stopped there.</summary>
    public sealed class UnwindResult
    {
        public UnwindResult(IReadOnlyList<StackFrame> frames, UnwindEnd end, string? failure, ulong? failedPc)
        {
            Frames = frames ?? throw new ArgumentNullException(nameof(frames));
            End = end;
            Failure = failure;
            FailedPc = failedPc;
        }

        public IReadOnlyList<StackFrame> Frames { get; }
        public UnwindEnd End { get; }

        /// <summary>Why the unwind failed (null unless <see cref="End"/> is Failed).</summary>
        public string? Failure { get; }

        /// <summary>The pc of the frame that could not be unwound.</summary>
        public ulong? FailedPc { get; }
    }
}
