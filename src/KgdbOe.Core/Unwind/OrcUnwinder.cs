using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace KgdbOe.Unwind
{
    /// <summary>
    /// Walks a kernel stack the way unwind_next_frame() in arch/x86/kernel/unwind_orc.c does (6.1 and
    /// 6.12): each step finds the ORC entry of the current ip (ip-1 after a call), computes the caller's
    /// sp from SP, BP, their indirect forms or a register of the last pt_regs (R10, R13, DI, DX), and reads
    /// the return address (CALL) or a whole pt_regs (REGS) or iret frame (REGS_PARTIAL), crossing
    /// exception, interrupt and int3 frames. It ends cleanly at END_OF_STACK and where a pt_regs holds
    /// user-mode registers. Where no entry exists it guesses with frame pointers (orc_fp_entry), and every
    /// frame from there on is unreliable, as the kernel marks state->error. Stateless apart from its table.
    /// </summary>
    public sealed class OrcUnwinder
    {
        // struct pt_regs on x86-64 (arch/x86/include/asm/ptrace.h): offsets in bytes.
        private const int PtRegsR13 = 16, PtRegsBp = 32, PtRegsR10 = 56, PtRegsDx = 96, PtRegsDi = 112;
        private const int PtRegsIp = 128, PtRegsCs = 136, PtRegsSp = 152;
        /// <summary>sizeof(struct pt_regs).</summary>
        private const int PtRegsSize = 168;
        /// <summary>IRET_FRAME_OFFSET: the hardware frame (ip, cs, flags, sp, ss) starts at pt_regs' ip.</summary>
        private const int IretFrameOffset = PtRegsIp;
        private const ulong KernelHalf = 0xffff800000000000UL;

        private static readonly Dictionary<int, string> SnapshotNames = new Dictionary<int, string>
        {
            [0] = "r15", [8] = "r14", [16] = "r13", [24] = "r12", [32] = "rbp", [40] = "rbx", [48] = "r11", [56] = "r10",
            [64] = "r9", [72] = "r8", [80] = "rax", [88] = "rcx", [96] = "rdx", [104] = "rsi", [112] = "rdi",
            [128] = "rip", [136] = "cs", [144] = "eflags", [152] = "rsp", [160] = "ss",
        };

        private readonly OrcTable? _table;
        private readonly ModuleOrcTables? _modules;

        /// <param name="table">vmlinux's ORC table, or null for a kernel without ORC (frame pointers only, all unreliable).</param>
        /// <param name="modules">The loaded modules' tables, for code outside vmlinux (null: frame pointers there).</param>
        public OrcUnwinder(OrcTable? table, ModuleOrcTables? modules = null)
        {
            _table = table;
            _modules = modules;
        }

        /// <summary>Stack memory is read in blocks of this size unless told otherwise (aligned, so a block never crosses a page).</summary>
        public const int DefaultStackBlockSize = 512;

        /// <summary>The largest power of two not above <paramref name="maxReadChunk"/> (the stub's reply limit), at least 64:
        /// a block size that costs one request per block.</summary>
        public static int BlockSizeFor(int maxReadChunk)
        {
            int size = 64;
            while (size * 2 <= maxReadChunk && size < 4096) size *= 2;
            return size;
        }

        /// <summary>
        /// Unwinds from <paramref name="start"/>, at most <paramref name="maxFrames"/> frames. Never throws for a
        /// bad stack: the frames found so far come back with <see cref="UnwindEnd.Failed"/> and the reason.
        /// </summary>
        /// <param name="stackBlockSize">Bytes per stack read, a power of two.</param>
        public async Task<UnwindResult> UnwindAsync(ITargetMemory memory, UnwindStart start, int maxFrames, CancellationToken ct, int stackBlockSize = DefaultStackBlockSize)
        {
            if (memory == null) throw new ArgumentNullException(nameof(memory));
            if (start == null) throw new ArgumentNullException(nameof(start));
            if (maxFrames < 1) throw new ArgumentOutOfRangeException(nameof(maxFrames), maxFrames, "At least one frame.");
            var stack = new BlockCache(memory, stackBlockSize);
            var frames = new List<StackFrame>();
            var s = new State(start);
            if (s.Regs != null && await UserModeAsync(stack, s.Regs, ct).ConfigureAwait(false))
                return new UnwindResult(frames, UnwindEnd.EndOfStack, null, null);
            frames.Add(new StackFrame(0, s.Ip, s.Sp, FrameSource.Regs, true));
            var seen = new HashSet<(ulong, ulong)> { (s.Ip, s.Sp) };
            while (true)
            {
                ulong origIp = s.Ip;
                if (frames.Count >= maxFrames) return new UnwindResult(frames, UnwindEnd.FrameLimit, null, null);
                string? failure;
                try
                {
                    (UnwindEnd? end, string? reason) = await StepAsync(stack, s, ct).ConfigureAwait(false);
                    if (end == UnwindEnd.EndOfStack) return new UnwindResult(frames, UnwindEnd.EndOfStack, null, null);
                    failure = reason;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e)
                {
                    failure = "the stack cannot be read: " + e.Message;
                }
                if (failure == null && !seen.Add((s.Ip, s.Sp))) failure = "the unwind went round in a loop";
                if (failure != null) return new UnwindResult(frames, UnwindEnd.Failed, failure, origIp);
                frames.Add(new StackFrame(frames.Count, s.Ip, s.Sp, s.LastSource, !s.Error));
            }
        }

        /// <summary>One unwind_next_frame(): moves <paramref name="s"/> to the caller, or says why it cannot.</summary>
        private async Task<(UnwindEnd? End, string? Failure)> StepAsync(BlockCache stack, State s, CancellationToken ct)
        {
            if (s.Regs != null && await UserModeAsync(stack, s.Regs, ct).ConfigureAwait(false)) return (UnwindEnd.EndOfStack, null);
            ulong prevSp = s.Sp;
            ulong lookupIp = s.Signal ? s.Ip : s.Ip - 1;
            OrcEntry? found = _table != null ? await _table.FindAsync(lookupIp, ct).ConfigureAwait(false) : null;
            if (found == null && _modules != null && await _modules.FindAsync(lookupIp, ct).ConfigureAwait(false) is OrcTable module)
                found = await module.FindAsync(lookupIp, ct).ConfigureAwait(false);
            OrcEntry orc;
            bool guessed = false;
            if (found is OrcEntry entry)
            {
                if (entry.Type == OrcType.Undefined) return (null, $"no unwind information for {Hex(s.Ip)} (ORC type UNDEFINED)");
                if (entry.Type == OrcType.EndOfStack) return (UnwindEnd.EndOfStack, null);
                orc = entry;
            }
            else
            {
                orc = OrcEntry.FramePointer;
                guessed = true;
                s.Error = true;
            }
            s.Signal = orc.Signal;

            ulong sp;
            bool indirect = false;
            switch (orc.SpRegister)
            {
                case OrcRegister.Sp: sp = s.Sp + (ulong)(long)orc.SpOffset; break;
                case OrcRegister.Bp: sp = s.Bp + (ulong)(long)orc.SpOffset; break;
                case OrcRegister.SpIndirect: sp = s.Sp; indirect = true; break;
                case OrcRegister.BpIndirect: sp = s.Bp + (ulong)(long)orc.SpOffset; indirect = true; break;
                case OrcRegister.R10:
                case OrcRegister.R13:
                case OrcRegister.Di:
                case OrcRegister.Dx:
                    int offset = orc.SpRegister == OrcRegister.R10 ? PtRegsR10 : orc.SpRegister == OrcRegister.R13 ? PtRegsR13 : orc.SpRegister == OrcRegister.Di ? PtRegsDi : PtRegsDx;
                    ulong? value = await GetRegAsync(stack, s, offset, ct).ConfigureAwait(false);
                    if (value == null) return (null, $"the {orc.SpRegister} value the ORC entry of {Hex(s.Ip)} needs is not saved in any pt_regs");
                    sp = value.Value;
                    break;
                default:
                    return (null, $"unknown ORC sp register {(int)orc.SpRegister} at {Hex(s.Ip)}");
            }
            if (indirect)
            {
                sp = await stack.ReadUInt64Async(sp, ct).ConfigureAwait(false);
                if (orc.SpRegister == OrcRegister.SpIndirect) sp += (ulong)(long)orc.SpOffset;
            }

            switch (orc.Type)
            {
                case OrcType.Call:
                    s.Ip = await stack.ReadUInt64Async(sp - 8, ct).ConfigureAwait(false);
                    s.Sp = sp;
                    s.Regs = null;
                    s.PrevRegs = null;
                    s.LastSource = guessed ? FrameSource.FramePointer : FrameSource.Orc;
                    break;
                case OrcType.Regs:
                    s.Ip = await stack.ReadUInt64Async(sp + PtRegsIp, ct).ConfigureAwait(false);
                    s.Sp = await stack.ReadUInt64Async(sp + PtRegsSp, ct).ConfigureAwait(false);
                    s.Regs = new Regs(sp, null);
                    s.PrevRegs = null;
                    s.FullRegs = true;
                    s.LastSource = FrameSource.Regs;
                    break;
                case OrcType.RegsPartial:
                    ulong regs = sp - IretFrameOffset;
                    s.Ip = await stack.ReadUInt64Async(regs + PtRegsIp, ct).ConfigureAwait(false);
                    s.Sp = await stack.ReadUInt64Async(regs + PtRegsSp, ct).ConfigureAwait(false);
                    if (s.FullRegs) s.PrevRegs = s.Regs;
                    s.Regs = new Regs(regs, null);
                    s.FullRegs = false;
                    s.LastSource = FrameSource.Regs;
                    break;
                default:
                    return (null, $"unknown ORC entry type {orc.Type} at {Hex(s.Ip)}");
            }

            switch (orc.BpRegister)
            {
                case OrcRegister.Undefined:
                    if (await GetRegAsync(stack, s, PtRegsBp, ct).ConfigureAwait(false) is ulong bp) s.Bp = bp;
                    break;
                case OrcRegister.PrevSp:
                    s.Bp = await stack.ReadUInt64Async(sp + (ulong)(long)orc.BpOffset, ct).ConfigureAwait(false);
                    break;
                case OrcRegister.Bp:
                    s.Bp = await stack.ReadUInt64Async(s.Bp + (ulong)(long)orc.BpOffset, ct).ConfigureAwait(false);
                    break;
                default:
                    return (null, $"unknown ORC bp register {(int)orc.BpRegister} at {Hex(s.Ip)}");
            }

            if (orc.Type == OrcType.Call && !indirect && s.Sp <= prevSp)
                return (null, $"the stack goes the wrong way at {Hex(s.Ip)} (sp 0x{s.Sp:x} after 0x{prevSp:x})");
            if (s.Regs != null && await UserModeAsync(stack, s.Regs, ct).ConfigureAwait(false)) return (UnwindEnd.EndOfStack, null);
            if (s.Ip < KernelHalf) return (null, $"{(guessed ? "the frame-pointer guess" : "the ORC entry")} at {Hex(s.Ip)} gives return address {Hex(s.Ip)}, which is no kernel code");
            return (null, null);
        }

        /// <summary>get_reg(): a register from the last full pt_regs, or from the one before an iret frame.</summary>
        private static async Task<ulong?> GetRegAsync(BlockCache stack, State s, int offset, CancellationToken ct)
        {
            if (s.Regs == null) return null;
            Regs? from = s.FullRegs ? s.Regs : s.PrevRegs;
            if (from == null) return null;
            return await from.ReadAsync(stack, offset, ct).ConfigureAwait(false);
        }

        private static async Task<bool> UserModeAsync(BlockCache stack, Regs regs, CancellationToken ct) =>
            ((await regs.ReadAsync(stack, PtRegsCs, ct).ConfigureAwait(false) ?? 0) & 3) != 0;

        private static string Hex(ulong a) => "0x" + a.ToString("x", CultureInfo.InvariantCulture);

        /// <summary>A pt_regs: in target memory at an address, or the stopped CPU's register set standing in for one.</summary>
        private sealed class Regs
        {
            private readonly ulong _address;
            private readonly IReadOnlyDictionary<string, ulong>? _snapshot;

            public Regs(ulong address, IReadOnlyDictionary<string, ulong>? snapshot)
            {
                _address = address;
                _snapshot = snapshot;
            }

            public async Task<ulong?> ReadAsync(BlockCache stack, int offset, CancellationToken ct)
            {
                if (_snapshot == null) return await stack.ReadUInt64Async(_address + (ulong)offset, ct).ConfigureAwait(false);
                return SnapshotNames.TryGetValue(offset, out string? name) && _snapshot.TryGetValue(name, out ulong v) ? v : (ulong?)null;
            }
        }

        /// <summary>struct unwind_state's fields that matter here.</summary>
        private sealed class State
        {
            public State(UnwindStart start)
            {
                Ip = start.Ip;
                Sp = start.Sp;
                Bp = start.Bp;
                Signal = start.Signal;
                if (start.Registers != null)
                {
                    Regs = new Regs(0, start.Registers);
                    FullRegs = true;
                }
            }

            public ulong Ip, Sp, Bp;
            public bool Signal, FullRegs, Error;
            public Regs? Regs, PrevRegs;
            public FrameSource LastSource = FrameSource.Regs;
        }
    }
}
