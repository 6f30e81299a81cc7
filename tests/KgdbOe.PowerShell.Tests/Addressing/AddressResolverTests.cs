using System.Management.Automation;
using System.Numerics;
using KgdbOe.Symbols;
using Xunit;

namespace KgdbOe.PowerShell.Tests.Addressing
{
    /// <summary>
    /// Addresses as a user writes them (KernelAddressTransformationAttribute, AddressResolver):
    /// numbers of any integer type, hex text, symbol+offset against a session's symbols, and the
    /// stable error ids for what is not an address.
    /// </summary>
    public sealed class AddressResolverTests
    {
        // The shape of /proc/kallsyms: address, type, name.
        private static readonly SymbolTable Symbols = SymbolTable.FromKallsyms(string.Join("\n",
            "ffffffff81000000 T _stext",
            "ffffffff81234560 T __x64_sys_getppid",
            "ffffffff81300000 t add",
            "ffffffff81400000 t foo.constprop.0",
            "ffffffff82000000 D linux_banner"));

        [Theory]
        [InlineData("0xffffffff81000000", 0xffffffff81000000UL)]
        [InlineData("0XFFFFFFFF81000000", 0xffffffff81000000UL)]
        [InlineData("ffffffff`81000000", 0xffffffff81000000UL)]
        [InlineData("0xffffffff`81000000", 0xffffffff81000000UL)]
        [InlineData("  0x10  ", 0x10UL)]
        [InlineData("beef", 0xbeefUL)]
        [InlineData("_stext", 0xffffffff81000000UL)]
        [InlineData("__x64_sys_getppid+0x10", 0xffffffff81234570UL)]
        [InlineData("__x64_sys_getppid+16", 0xffffffff81234570UL)]
        [InlineData("__x64_sys_getppid + 16", 0xffffffff81234570UL)]
        [InlineData("linux_banner-8", 0xffffffff81fffff8UL)]
        [InlineData("linux_banner-0x8", 0xffffffff81fffff8UL)]
        [InlineData("foo.constprop.0+1", 0xffffffff81400001UL)]
        public void Resolves_text(string text, ulong expected)
        {
            Assert.Equal(expected, AddressResolver.Resolve(new KernelAddress(text), Symbols));
        }

        [Fact]
        public void Bare_hex_digits_that_name_a_symbol_are_the_symbol()
        {
            Assert.Equal(0xffffffff81300000UL, AddressResolver.Resolve(new KernelAddress("add"), Symbols));
            Assert.Equal(0xaddUL, AddressResolver.Resolve(new KernelAddress("0xadd"), Symbols));
            Assert.Equal(0xaddUL, AddressResolver.Resolve(new KernelAddress("add"), null));
        }

        [Fact]
        public void A_number_needs_no_symbols()
        {
            Assert.Equal(0xffffffff81000000UL, AddressResolver.Resolve(new KernelAddress(0xffffffff81000000UL), null));
            Assert.Equal("0xffffffff81000000", new KernelAddress(0xffffffff81000000UL).ToString());
            Assert.Equal("_stext+4", new KernelAddress("_stext+4").ToString());
        }

        [Theory]
        [InlineData("")]
        [InlineData("   ")]
        [InlineData("0x1ffffffff81000000")]
        [InlineData("12abc-")]
        [InlineData("_stext+")]
        [InlineData("_stext+0x-1")]
        [InlineData("_stext+ten")]
        [InlineData("my symbol")]
        [InlineData("9lives")]
        public void Text_that_is_not_an_address_is_a_BadAddress(string text)
        {
            var e = Assert.Throws<KgdbOeErrorException>(() => AddressResolver.Resolve(new KernelAddress(text), Symbols));
            Assert.Equal("KgdbOe.BadAddress", e.ErrorRecord.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, e.ErrorRecord.CategoryInfo.Category);
            Assert.Equal(text, e.ErrorRecord.TargetObject);
        }

        [Theory]
        [InlineData("no_such_symbol", true)]
        [InlineData("no_such_symbol+0x10", true)]
        [InlineData("_stext", false)]
        public void An_unknown_symbol_or_no_symbols_is_UnknownSymbol(string text, bool withSymbols)
        {
            var e = Assert.Throws<KgdbOeErrorException>(() => AddressResolver.Resolve(new KernelAddress(text), withSymbols ? Symbols : null));
            Assert.Equal("KgdbOe.UnknownSymbol", e.ErrorRecord.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, e.ErrorRecord.CategoryInfo.Category);
        }

        [Fact]
        public void Takes_every_integer_type_as_the_same_64_bit_address()
        {
            // PowerShell reads 0xffffffff81000000 as the Int64 -2130706432 - 0x7fffffff00000000 etc.:
            // the bits are the address.
            Assert.Equal(0xffffffff81000000UL, ToAddress(unchecked((long)0xffffffff81000000UL)));
            Assert.Equal(0xffffffff81000000UL, ToAddress(0xffffffff81000000UL));
            Assert.Equal(0xffffffffffffffffUL, ToAddress(-1));
            Assert.Equal(0x10UL, ToAddress((byte)0x10));
            Assert.Equal(0xffffffffffffff80UL, ToAddress((sbyte)-128));
            Assert.Equal(0xffffUL, ToAddress((ushort)0xffff));
            Assert.Equal(0xffffffffUL, ToAddress(0xffffffffU));
            Assert.Equal(18446744071562067968UL, ToAddress(18446744071562067968m));
            Assert.Equal(4096UL, ToAddress(4096.0));
            Assert.Equal(0xffffffff81000000UL, ToAddress(new BigInteger(0xffffffff81000000UL)));
            Assert.Equal(0x20UL, ToAddress(PSObject.AsPSObject(0x20)));
        }

        [Fact]
        public void Keeps_text_and_odd_numbers_as_text_for_the_resolver_to_judge()
        {
            Assert.Equal("_stext+4", KernelAddressTransformationAttribute.ToAddress("_stext+4").Text);
            Assert.Equal("1.5", KernelAddressTransformationAttribute.ToAddress(1.5).Text);
            Assert.Equal("-1", KernelAddressTransformationAttribute.ToAddress(-1m).Text);
            Assert.Throws<ArgumentTransformationMetadataException>(() => KernelAddressTransformationAttribute.ToAddress(null));
        }

        [Fact]
        public void Takes_the_Address_property_of_any_object()
        {
            var symbol = new PSObject();
            symbol.Properties.Add(new PSNoteProperty("Name", "_stext"));
            symbol.Properties.Add(new PSNoteProperty("Address", 0xffffffff81000000UL));
            Assert.Equal(0xffffffff81000000UL, ToAddress(symbol));

            var byText = new PSObject();
            byText.Properties.Add(new PSNoteProperty("Address", "linux_banner"));
            Assert.Equal(0xffffffff82000000UL, AddressResolver.Resolve(KernelAddressTransformationAttribute.ToAddress(byText), Symbols));
        }

        private static ulong ToAddress(object value)
        {
            var address = KernelAddressTransformationAttribute.ToAddress(value);
            Assert.True(address.Value.HasValue, $"{value} became text '{address.Text}'");
            return address.Value!.Value;
        }
    }
}
