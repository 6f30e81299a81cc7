using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KgdbOe.Disassembly;
using Xunit;

namespace KgdbOe.Tests.Disassembly
{
    /// <summary>
    /// The AT&amp;T text of known encodings against GNU objdump 2.40: each case is one line of
    /// `objdump -d --insn-width=16` of an object assembled by GNU as from kernel-style instructions
    /// (the function "f" at 0), copied verbatim: address, bytes, text.
    /// </summary>
    public sealed class AttFormattingTests
    {
        private static string? Describe(ulong address) =>
            address < 0x10000 ? (address == 0 ? "f" : "f+0x" + address.ToString("x", CultureInfo.InvariantCulture)) : null;

        private static byte[] Bytes(string hex) =>
            hex.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries).Select(b => byte.Parse(b, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();

        [Theory]
        [InlineData(0x0, "f3 0f 1e fa", "endbr64")]
        [InlineData(0x4, "0f 1f 04 00", "nopl   (%rax,%rax,1)")]
        [InlineData(0x8, "55", "push   %rbp")]
        [InlineData(0x9, "48 89 e5", "mov    %rsp,%rbp")]
        [InlineData(0xc, "48 83 ec 18", "sub    $0x18,%rsp")]
        [InlineData(0x10, "65 48 8b 04 25 28 00 00 00", "mov    %gs:0x28,%rax")]
        [InlineData(0x19, "48 8b 05 34 12 00 00", "mov    0x1234(%rip),%rax        # 1254 <f+0x1254>")]
        [InlineData(0x20, "48 c7 47 08 00 00 00 00", "movq   $0x0,0x8(%rdi)")]
        [InlineData(0x28, "c7 45 f8 01 00 00 00", "movl   $0x1,-0x8(%rbp)")]
        [InlineData(0x2f, "80 38 00", "cmpb   $0x0,(%rax)")]
        [InlineData(0x32, "48 8d 54 cd f0", "lea    -0x10(%rbp,%rcx,8),%rdx")]
        [InlineData(0x37, "e8 c4 ff ff ff", "call   0 <f>")]
        [InlineData(0x3c, "eb c2", "jmp    0 <f>")]
        [InlineData(0x3e, "74 c0", "je     0 <f>")]
        [InlineData(0x40, "ff e0", "jmp    *%rax")]
        [InlineData(0x42, "ff 50 10", "call   *0x10(%rax)")]
        [InlineData(0x45, "65 ff 14 25 34 12 00 00", "call   *%gs:0x1234")]
        [InlineData(0x4d, "31 c0", "xor    %eax,%eax")]
        [InlineData(0x4f, "84 c0", "test   %al,%al")]
        [InlineData(0x51, "0f b6 07", "movzbl (%rdi),%eax")]
        [InlineData(0x54, "48 63 f6", "movslq %esi,%rsi")]
        [InlineData(0x57, "2e 66 0f 1f 04 00", "cs nopw (%rax,%rax,1)")]
        [InlineData(0x5d, "66 0f 1f 04 00", "nopw   (%rax,%rax,1)")]
        [InlineData(0x62, "66 90", "xchg   %ax,%ax")]
        [InlineData(0x64, "c3", "ret")]
        [InlineData(0x65, "cc", "int3")]
        [InlineData(0x66, "f0 ff 07", "lock incl (%rdi)")]
        [InlineData(0x69, "48 0f 45 c2", "cmovne %rdx,%rax")]
        [InlineData(0x6d, "48 c1 e8 03", "shr    $0x3,%rax")]
        [InlineData(0x71, "0f 94 c0", "sete   %al")]
        [InlineData(0x74, "9c", "pushf")]
        [InlineData(0x75, "9d", "popf")]
        [InlineData(0x76, "fa", "cli")]
        [InlineData(0x77, "fb", "sti")]
        [InlineData(0x78, "0f 01 f8", "swapgs")]
        [InlineData(0x7b, "48 0f 07", "sysretq")]
        [InlineData(0x7e, "48 cf", "iretq")]
        [InlineData(0x80, "0f 20 d8", "mov    %cr3,%rax")]
        [InlineData(0x83, "f3 aa", "rep stos %al,%es:(%rdi)")]
        [InlineData(0x85, "f3 48 a5", "rep movsq %ds:(%rsi),%es:(%rdi)")]
        [InlineData(0x88, "0f ba e0 03", "bt     $0x3,%eax")]
        [InlineData(0x8c, "0f 0b", "ud2")]
        [InlineData(0x8e, "48 b8 f0 de bc 9a 78 56 34 12", "movabs $0x123456789abcdef0,%rax")]
        [InlineData(0x98, "48 8b 04 25 00 00 00 82", "mov    0xffffffff82000000,%rax")]
        [InlineData(0xa0, "c9", "leave")]
        [InlineData(0xa1, "e9 fb 0f 00 00", "jmp    10a1 <f+0x10a1>")]
        [InlineData(0xa6, "0f 1f 44 00 00", "nopl   0x0(%rax,%rax,1)")]
        [InlineData(0xab, "66 0f 1f 44 00 00", "nopw   0x0(%rax,%rax,1)")]
        [InlineData(0xb1, "48 8b 05 00 00 00 00", "mov    0x0(%rip),%rax        # b8 <f+0xb8>")]
        [InlineData(0xb8, "48 8b 7c 24 08", "mov    0x8(%rsp),%rdi")]
        [InlineData(0xbd, "48 83 c4 80", "add    $0xffffffffffffff80,%rsp")]
        [InlineData(0xc1, "48 83 e4 f0", "and    $0xfffffffffffffff0,%rsp")]
        [InlineData(0xc5, "83 f8 ff", "cmp    $0xffffffff,%eax")]
        [InlineData(0xc8, "b8 ff ff ff ff", "mov    $0xffffffff,%eax")]
        [InlineData(0xcd, "66 c7 00 01 00", "movw   $0x1,(%rax)")]
        [InlineData(0xd2, "6a 05", "push   $0x5")]
        [InlineData(0xd4, "48 83 ec 80", "sub    $0xffffffffffffff80,%rsp")]
        [InlineData(0xd8, "a9 00 40 00 00", "test   $0x4000,%eax")]
        [InlineData(0xdd, "66 66 2e 0f 1f 84 00 00 00 00 00", "data16 cs nopw 0x0(%rax,%rax,1)")]
        [InlineData(0xe8, "66 2e 0f 1f 84 00 00 00 00 00", "cs nopw 0x0(%rax,%rax,1)")]
        [InlineData(0xf2, "0f ae e8", "lfence")]
        [InlineData(0xf5, "f3 90", "pause")]
        [InlineData(0xf7, "0f 32", "rdmsr")]
        [InlineData(0xf9, "0f 30", "wrmsr")]
        [InlineData(0xfb, "0f 31", "rdtsc")]
        [InlineData(0xfd, "0f 22 d8", "mov    %rax,%cr3")]
        [InlineData(0x100, "8b 0c 98", "mov    (%rax,%rbx,4),%ecx")]
        [InlineData(0x103, "0f be 44 37 01", "movsbl 0x1(%rdi,%rsi,1),%eax")]
        [InlineData(0x108, "48 87 07", "xchg   %rax,(%rdi)")]
        [InlineData(0x10b, "f0 48 0f b1 17", "lock cmpxchg %rdx,(%rdi)")]
        [InlineData(0x110, "f0 0f c1 07", "lock xadd %eax,(%rdi)")]
        [InlineData(0x114, "48 6b c0 38", "imul   $0x38,%rax,%rax")]
        [InlineData(0x118, "d3 f8", "sar    %cl,%eax")]
        [InlineData(0x11a, "d1 e0", "shl    %eax")]
        [InlineData(0x11c, "f4", "hlt")]
        [InlineData(0x11d, "2e e8 00 00 00 00", "cs call 123 <f+0x123>")]
        public void Matches_objdump(ulong address, string bytes, string objdump)
        {
            IReadOnlyList<DisassembledInstruction> result = KernelDisassembler.Disassemble(Bytes(bytes), address, DisassemblySyntax.Att, Describe, null, null, null);
            DisassembledInstruction only = Assert.Single(result);
            Assert.Equal(objdump, only.Text.TrimEnd());
            Assert.Equal(address, only.Address);
        }

        [Fact]
        public void Names_branch_targets_and_marks_the_current_pc()
        {
            // 0xffffffff81000000: call 0xffffffff81000010; nop; ret
            byte[] code = { 0xe8, 0x0b, 0x00, 0x00, 0x00, 0x90, 0xc3 };
            const ulong at = 0xffffffff81000000;
            var result = KernelDisassembler.Disassemble(code, at, DisassemblySyntax.Att,
                a => a == 0xffffffff81000010 ? "vfs_read+0x10" : null, at + 5, null, null);
            Assert.Equal(3, result.Count);
            Assert.Equal("call   ffffffff81000010 <vfs_read+0x10>", result[0].Text);
            Assert.Equal(0xffffffff81000010UL, result[0].Target);
            Assert.Equal(new[] { false, true, false }, result.Select(i => i.IsCurrent));
        }

        [Fact]
        public void Puts_the_original_byte_back_under_a_planted_int3()
        {
            // push %rbp; mov %rsp,%rbp with an int3 planted on the push.
            byte[] code = { 0xcc, 0x48, 0x89, 0xe5 };
            var originals = new Dictionary<ulong, byte?> { [0x1000] = 0x55 };
            var result = KernelDisassembler.Disassemble(code, 0x1000, DisassemblySyntax.Att, _ => null, null, originals, null);
            Assert.Equal(new[] { "push   %rbp", "mov    %rsp,%rbp" }, result.Select(i => i.Text));
            Assert.True(result[0].IsBreakpoint);
            Assert.Equal(new byte[] { 0x55 }, result[0].Bytes);
            Assert.Equal(0xcc, code[0]);
        }

        [Fact]
        public void Spells_intel_on_request_and_stops_at_the_count()
        {
            byte[] code = { 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x47, 0x08, 0xc3 };
            var result = KernelDisassembler.Disassemble(code, 0, DisassemblySyntax.Intel, _ => null, null, null, 2);
            Assert.Equal(2, result.Count);
            Assert.Equal("mov    rbp,rsp", result[0].Text);
            Assert.Equal("mov    rax,QWORD PTR [rdi+0x8]", result[1].Text);
        }

        [Fact]
        public void A_truncated_instruction_is_bad_one_byte_at_a_time()
        {
            byte[] code = { 0x90, 0x48, 0x8b };
            var result = KernelDisassembler.Disassemble(code, 0, DisassemblySyntax.Att, _ => null, null, null, null);
            Assert.Equal(new[] { "nop", "(bad)", "(bad)" }, result.Select(i => i.Text));
        }
    }
}
