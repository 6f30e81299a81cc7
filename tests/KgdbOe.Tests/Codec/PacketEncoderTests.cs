using System.Text;
using KgdbOe.Protocol;
using Xunit;

namespace KgdbOe.Tests.Codec
{
    public class PacketEncoderTests
    {
        [Theory]
        [InlineData("", "$#00")]
        [InlineData("?", "$?#3f")]
        [InlineData("g", "$g#67")]
        [InlineData("qSupported", "$qSupported#37")]
        [InlineData("m0,4", "$m0,4#fd")]
        [InlineData("OK", "$OK#9a")]
        public void Frames_with_the_checksum_gdb_computes(string payload, string wire)
        {
            Assert.Equal(wire, Encoding.ASCII.GetString(PacketEncoder.Encode(payload)));
        }

        [Theory]
        [InlineData((byte)'$', "}\u0004")]
        [InlineData((byte)'#', "}\u0003")]
        [InlineData((byte)'}', "}]")]
        [InlineData((byte)'*', "}\n")]
        public void Escapes_the_four_reserved_bytes(byte reserved, string escaped)
        {
            string wire = Encoding.ASCII.GetString(PacketEncoder.Encode(new[] { (byte)'X', reserved }));
            Assert.StartsWith("$X" + escaped + "#", wire);
            Assert.Equal(3, PacketEncoder.EscapedLength(new[] { (byte)'X', reserved }));
        }

        [Fact]
        public void Checksum_covers_the_escaped_bytes()
        {
            byte[] wire = PacketEncoder.Encode(new[] { (byte)'}' });
            // '}' ']' = 0x7d + 0x5d = 0xda
            Assert.Equal("$}]#da", Encoding.ASCII.GetString(wire));
        }
    }
}
