using System;
using System.Globalization;

namespace KgdbOe.Unwind
{
    /// <summary>How a kernel packs struct orc_entry's 16-bit bitfield (arch/x86/include/asm/orc_types.h).</summary>
    public enum OrcLayout
    {
        /// <summary>
        /// Up to 6.3 (6.1 included): sp_reg:4, bp_reg:4, type:2 (0 CALL, 1 REGS, 2 REGS_PARTIAL: the
        /// UNWIND_HINT_TYPE_* numbers of include/linux/objtool.h), end:1. End of stack is sp_reg UNDEFINED with end set.
        /// </summary>
        Linux61,

        /// <summary>
        /// 6.4 and later (6.12 included; such kernels have an .orc_header section, __start_orc_header):
        /// sp_reg:4, bp_reg:4, type:3 (0 UNDEFINED, 1 END_OF_STACK, 2 CALL, 3 REGS, 4 REGS_PARTIAL), signal:1.
        /// </summary>
        Linux64,
    }

    /// <summary>The ORC_REG_* numbers, the same in 6.1 and 6.12.</summary>
    public enum OrcRegister
    {
        Undefined = 0,
        PrevSp = 1,
        Dx = 2,
        Di = 3,
        Bp = 4,
        Sp = 5,
        R10 = 6,
        R13 = 7,
        BpIndirect = 8,
        SpIndirect = 9,
    }

    /// <summary>What an entry says the caller's frame is, in 6.12's terms (6.1's entries are mapped onto them).</summary>
    public enum OrcType
    {
        /// <summary>No unwind information: the unwind fails here.</summary>
        Undefined,

        /// <summary>The bottom of a kernel stack (a kernel thread's start, or the entry code's user-mode boundary).</summary>
        EndOfStack,

        /// <summary>An ordinary call frame: the return address lies just below the previous sp.</summary>
        Call,

        /// <summary>The previous sp points at a full struct pt_regs (an exception or interrupt frame).</summary>
        Regs,

        /// <summary>The previous sp points at the hardware iret frame, the last 5 words of a pt_regs.</summary>
        RegsPartial,
    }

    /// <summary>One decoded struct orc_entry (6 bytes: s16 sp_offset, s16 bp_offset, u16 bitfield).</summary>
    public readonly struct OrcEntry : IEquatable<OrcEntry>
    {
        /// <summary>The size of struct orc_entry in the kernel's tables, in bytes.</summary>
        public const int Size = 6;

        public OrcEntry(short spOffset, short bpOffset, OrcRegister spRegister, OrcRegister bpRegister, OrcType type, bool signal)
        {
            SpOffset = spOffset;
            BpOffset = bpOffset;
            SpRegister = spRegister;
            BpRegister = bpRegister;
            Type = type;
            Signal = signal;
        }

        public short SpOffset { get; }
        public short BpOffset { get; }
        public OrcRegister SpRegister { get; }
        public OrcRegister BpRegister { get; }
        public OrcType Type { get; }

        /// <summary>
        /// True when the ip this entry describes was interrupted rather than called from (so the next lookup
        /// uses ip itself, not ip-1). 6.12 stores it; for 6.1 it is true for REGS and REGS_PARTIAL.
        /// </summary>
        public bool Signal { get; }

        /// <summary>The frame-pointer guess the kernel uses where no entry exists (orc_fp_entry in unwind_orc.c).</summary>
        public static OrcEntry FramePointer => new OrcEntry(16, -16, OrcRegister.Bp, OrcRegister.PrevSp, OrcType.Call, false);

        /// <summary>The entry the kernel uses for ip 0, a call through a NULL pointer (null_orc_entry).</summary>
        public static OrcEntry NullCall => new OrcEntry(8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Call, false);

        /// <summary>Decodes the 6 bytes at <paramref name="offset"/> (little-endian) as <paramref name="layout"/> packs them.</summary>
        public static OrcEntry Decode(byte[] bytes, int offset, OrcLayout layout)
        {
            if (bytes == null) throw new ArgumentNullException(nameof(bytes));
            if (offset < 0 || offset + Size > bytes.Length) throw new ArgumentOutOfRangeException(nameof(offset), offset, $"An orc_entry needs {Size} bytes.");
            short sp = (short)(bytes[offset] | bytes[offset + 1] << 8);
            short bp = (short)(bytes[offset + 2] | bytes[offset + 3] << 8);
            int bits = bytes[offset + 4] | bytes[offset + 5] << 8;
            var spReg = (OrcRegister)(bits & 0xf);
            var bpReg = (OrcRegister)((bits >> 4) & 0xf);
            if (layout == OrcLayout.Linux64)
            {
                int rawType = (bits >> 8) & 0x7;
                bool signal = ((bits >> 11) & 1) != 0;
                OrcType type = rawType switch
                {
                    0 => OrcType.Undefined,
                    1 => OrcType.EndOfStack,
                    2 => OrcType.Call,
                    3 => OrcType.Regs,
                    4 => OrcType.RegsPartial,
                    _ => OrcType.Undefined,
                };
                return new OrcEntry(sp, bp, spReg, bpReg, type, signal);
            }
            else
            {
                int rawType = (bits >> 8) & 0x3;
                bool end = ((bits >> 10) & 1) != 0;
                OrcType type;
                if (spReg == OrcRegister.Undefined) type = end ? OrcType.EndOfStack : OrcType.Undefined;
                else type = rawType switch { 0 => OrcType.Call, 1 => OrcType.Regs, 2 => OrcType.RegsPartial, _ => OrcType.Undefined };
                return new OrcEntry(sp, bp, spReg, bpReg, type, type == OrcType.Regs || type == OrcType.RegsPartial);
            }
        }

        public bool Equals(OrcEntry other) =>
            SpOffset == other.SpOffset && BpOffset == other.BpOffset && SpRegister == other.SpRegister &&
            BpRegister == other.BpRegister && Type == other.Type && Signal == other.Signal;

        public override bool Equals(object? obj) => obj is OrcEntry e && Equals(e);

        public override int GetHashCode() => (SpOffset, BpOffset, SpRegister, BpRegister, Type, Signal).GetHashCode();

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "{0} sp={1}{2:+0;-0} bp={3}{4:+0;-0}{5}", Type, SpRegister, SpOffset, BpRegister, BpOffset, Signal ? " signal" : "");
    }
}
