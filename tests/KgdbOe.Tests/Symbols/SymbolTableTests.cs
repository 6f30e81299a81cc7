using System;
using System.Linq;
using KgdbOe.Symbols;
using Xunit;

namespace KgdbOe.Tests.Symbols
{
    public class SymbolTableTests
    {
        private const string Kallsyms =
            "0000000000000000 A fixed_percpu_data\n" +
            "ffffffff81000000 T _stext\n" +
            "ffffffff81000000 T _text\n" +
            "ffffffff81001000 t do_one_initcall\n" +
            "ffffffff81002000 T __x64_sys_getppid\n" +
            "ffffffff81ff0000 T _etext\n" +
            "ffffffff82000000 D linux_banner\n" +
            "ffffffffc0001000 t kgdboe_init\t[kgdboe]\n";

        [Fact]
        public void Names_map_to_addresses_and_addresses_to_symbol_plus_offset()
        {
            SymbolTable t = SymbolTable.FromKallsyms(Kallsyms);
            Assert.True(t.TryGetAddress("__x64_sys_getppid", out ulong a));
            Assert.Equal(0xffffffff81002000UL, a);
            Assert.Equal("__x64_sys_getppid+0x1f", t.Lookup(0xffffffff8100201fUL)!.ToString());
            Assert.Equal("__x64_sys_getppid", t.Lookup(0xffffffff81002000UL)!.ToString());
            Assert.Equal("_stext", t.Lookup(0xffffffff81000000UL)!.Name);
            Assert.Equal("kgdboe_init+0x4", t.Lookup(0xffffffffc0001004UL)!.ToString());
            Assert.Null(t.Lookup(0x1000));
            Assert.Equal(8, t.Count);
        }

        [Fact]
        public void A_slide_moves_the_kernel_image_but_not_per_cpu_offsets()
        {
            SymbolTable t = SymbolTable.FromKallsyms(Kallsyms).WithSlide(0x1e00000);
            Assert.Equal(0x1e00000, t.Slide);
            Assert.True(t.TryGetAddress("linux_banner", out ulong banner));
            Assert.Equal(0xffffffff83e00000UL, banner);
            Assert.True(t.TryGetAddress("fixed_percpu_data", out ulong percpu));
            Assert.Equal(0UL, percpu);
            Assert.Equal("__x64_sys_getppid+0x10", t.Lookup(0xffffffff82e02010UL)!.ToString());
        }

        [Fact]
        public void A_malformed_line_is_reported_with_its_number()
        {
            var e = Assert.Throws<FormatException>(() => SymbolTable.FromKallsyms("ffffffff81000000 T _stext\nnot a symbol line\n"));
            Assert.Contains("line 2", e.Message);
        }

        [Fact]
        public void Endpoints_parse_with_udp_as_the_default()
        {
            Assert.Equal("udp:127.0.0.1:31337", KgdbOe.Client.TargetEndpoint.Parse("127.0.0.1:31337").ToString());
            Assert.Equal(KgdbOe.Client.TransportKind.Tcp, KgdbOe.Client.TargetEndpoint.Parse("tcp:localhost:1234").Transport);
            Assert.Throws<FormatException>(() => KgdbOe.Client.TargetEndpoint.Parse("udp:host"));
            Assert.Throws<FormatException>(() => KgdbOe.Client.TargetEndpoint.Parse("host:99999"));
        }
    }
}
