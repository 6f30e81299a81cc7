using KgdbOe.Disassembly;
using KgdbOe.Symbols;
using Xunit;

namespace KgdbOe.Tests.Disassembly
{
    /// <summary>Function ends and names from a System.map-like table (lines as in the 6.12 lab's System.map).</summary>
    public sealed class FunctionExtentsTests
    {
        private static readonly SymbolTable Symbols = SymbolTable.FromKallsyms(string.Join("\n",
            "ffffffff8159c640 T __sched_text_start",
            "ffffffff8159c640 t __schedule",
            "ffffffff8159cc3a T schedule",
            "ffffffff8159ccb0 T schedule_idle",
            "000000000002dfc0 D pcpu_hot"));

        [Fact]
        public void A_function_ends_at_the_next_symbol()
        {
            Assert.Equal(0xffffffff8159cc3aUL, FunctionExtents.NextSymbolAddress(Symbols, 0xffffffff8159c640));
            Assert.Equal(0xffffffff8159ccb0UL, FunctionExtents.NextSymbolAddress(Symbols, 0xffffffff8159cc3a));
            Assert.Null(FunctionExtents.NextSymbolAddress(Symbols, 0xffffffff8159ccb0));
        }

        [Fact]
        public void A_section_marker_gives_way_to_the_function_at_its_address()
        {
            SymbolLocation? at = Symbols.Lookup(0xffffffff8159c660);
            Assert.NotNull(at);
            Assert.Equal("__schedule+0x20", FunctionExtents.PreferFunctionName(Symbols, at!).ToString());
            Assert.Equal("schedule+0x4", FunctionExtents.PreferFunctionName(Symbols, Symbols.Lookup(0xffffffff8159cc3e)!).ToString());
        }

        [Fact]
        public void A_rip_relative_operand_without_a_symbol_reads_0x_like_objdump()
        {
            // mov %gs:0x6f5c9829(%rip),%rax at 0xffffffff90a6478f (lab 6.12): objdump -b binary printed "# 0x2dfc0".
            byte[] code = { 0x65, 0x48, 0x8b, 0x05, 0x29, 0x98, 0x5c, 0x6f };
            var only = Assert.Single(KernelDisassembler.Disassemble(code, 0xffffffff90a6478f, DisassemblySyntax.Att, _ => null, null, null, null));
            Assert.Equal("mov    %gs:0x6f5c9829(%rip),%rax        # 0x2dfc0", only.Text);
        }
    }
}
