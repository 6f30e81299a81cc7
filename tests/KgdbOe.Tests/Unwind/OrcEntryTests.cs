using KgdbOe.Unwind;
using Xunit;

namespace KgdbOe.Tests.Unwind
{
    /// <summary>
    /// struct orc_entry decoded from its 6 bytes in both kernels' packings
    /// (arch/x86/include/asm/orc_types.h of 6.1 and 6.12, little-endian bitfields from bit 0 up).
    /// </summary>
    public sealed class OrcEntryTests
    {
        [Theory]
        // 6.12: sp_reg:4 bp_reg:4 type:3 signal:1. A function body after "push %rbp": CALL, sp = SP+16, bp at prev_sp-16.
        [InlineData(OrcLayout.Linux64, new byte[] { 0x10, 0x00, 0xf0, 0xff, 0x15, 0x02 }, 16, -16, OrcRegister.Sp, OrcRegister.PrevSp, OrcType.Call, false)]
        // 6.12 entry code: REGS at SP+0 with the signal bit (type 3 = 0x300, signal = 0x800).
        [InlineData(OrcLayout.Linux64, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x05, 0x0b }, 0, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Regs, true)]
        // 6.12: iret frame at SP+8 (REGS_PARTIAL = 4), signal.
        [InlineData(OrcLayout.Linux64, new byte[] { 0x08, 0x00, 0x00, 0x00, 0x05, 0x0c }, 8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.RegsPartial, true)]
        // 6.12: END_OF_STACK (type 1), sp_reg UNDEFINED.
        [InlineData(OrcLayout.Linux64, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 }, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.EndOfStack, false)]
        // 6.12: UNDEFINED (type 0).
        [InlineData(OrcLayout.Linux64, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.Undefined, false)]
        // 6.12: sp from the saved r10 (6) after the stack was realigned, sp_offset -8 (0xfff8).
        [InlineData(OrcLayout.Linux64, new byte[] { 0xf8, 0xff, 0x00, 0x00, 0x06, 0x02 }, -8, 0, OrcRegister.R10, OrcRegister.Undefined, OrcType.Call, false)]
        // 6.12: SP_INDIRECT (9), bp = BP (4): call_on_stack's "previous sp is stored at sp".
        [InlineData(OrcLayout.Linux64, new byte[] { 0x10, 0x00, 0x00, 0x00, 0x49, 0x02 }, 16, 0, OrcRegister.SpIndirect, OrcRegister.Bp, OrcType.Call, false)]
        // 6.1: sp_reg:4 bp_reg:4 type:2 end:1. CALL is 0 there.
        [InlineData(OrcLayout.Linux61, new byte[] { 0x10, 0x00, 0xf0, 0xff, 0x15, 0x00 }, 16, -16, OrcRegister.Sp, OrcRegister.PrevSp, OrcType.Call, false)]
        // 6.1: REGS is 1 (0x100); the kernel treats REGS as a signal frame.
        [InlineData(OrcLayout.Linux61, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x05, 0x01 }, 0, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Regs, true)]
        // 6.1: REGS_PARTIAL is 2 (0x200).
        [InlineData(OrcLayout.Linux61, new byte[] { 0x08, 0x00, 0x00, 0x00, 0x05, 0x02 }, 8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.RegsPartial, true)]
        // 6.1: end of stack is sp_reg UNDEFINED with end (0x400) set...
        [InlineData(OrcLayout.Linux61, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x04 }, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.EndOfStack, false)]
        // ...and without end, no information.
        [InlineData(OrcLayout.Linux61, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 0, 0, OrcRegister.Undefined, OrcRegister.Undefined, OrcType.Undefined, false)]
        // The same 6 bytes mean different things: 6.1's REGS_PARTIAL (2) is 6.12's CALL (2).
        [InlineData(OrcLayout.Linux64, new byte[] { 0x08, 0x00, 0x00, 0x00, 0x05, 0x02 }, 8, 0, OrcRegister.Sp, OrcRegister.Undefined, OrcType.Call, false)]
        public void Decodes(OrcLayout layout, byte[] bytes, short sp, short bp, OrcRegister spReg, OrcRegister bpReg, OrcType type, bool signal)
        {
            var padded = new byte[bytes.Length + 3];
            bytes.CopyTo(padded, 3);
            OrcEntry e = OrcEntry.Decode(padded, 3, layout);
            Assert.Equal(new OrcEntry(sp, bp, spReg, bpReg, type, signal), e);
        }

        [Fact]
        public void Refuses_a_short_buffer()
        {
            Assert.Throws<System.ArgumentOutOfRangeException>(() => OrcEntry.Decode(new byte[5], 0, OrcLayout.Linux64));
        }
    }
}
