using System;
using System.Linq;
using System.Text;
using KgdbOe.Wire;
using Xunit;

namespace KgdbOe.Tests.Wire
{
    /// <summary>
    /// The client's crypto equals the module's: ChaCha20-Poly1305 with the kernel's u64 nonce
    /// (lib/crypto/chacha20poly1305.c: RFC 8439 with the 96-bit nonce 0^32 || le64(n)) and keyed BLAKE2s.
    /// </summary>
    public class WireCryptoTests
    {
        private static byte[] H(string hex) => Enumerable.Range(0, hex.Length / 2).Select(i => Convert.ToByte(hex.Substring(2 * i, 2), 16)).ToArray();

        [Fact]
        public void Rfc8439AppendixA5IsTheKernelsU64NonceVariant()
        {
            // RFC 8439 A.5: nonce 00000000 0102030405060708 = the kernel's u64 nonce 0x0807060504030201
            // (also the first vector of the kernel's lib/crypto/chacha20poly1305-selftest.c).
            byte[] key = H("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
            byte[] ad = H("f33388860000000000004e91");
            byte[] text = Encoding.UTF8.GetBytes("Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference material or to cite them other than as /\u201cwork in progress./\u201d");
            Assert.Equal(265, text.Length);
            byte[] sealedText = WireCrypto.Seal(key, 0x0807060504030201UL, ad, default, text);
            Assert.Equal("64a0861575861af460f062c79be643bd", Convert.ToHexString(sealedText, 0, 16).ToLowerInvariant());
            Assert.Equal("eead9d67890cbb22392336fea1851f38", Convert.ToHexString(sealedText, sealedText.Length - 16, 16).ToLowerInvariant());
            Assert.Equal(text, WireCrypto.Open(key, 0x0807060504030201UL, ad, default, sealedText));
        }

        [Fact]
        public void EqualsDotNetsChaCha20Poly1305WithTheNonceLayout()
        {
            var rng = new Random(13);
            foreach (int len in new[] { 0, 1, 15, 16, 17, 63, 64, 65, 1432 })
            {
                var key = new byte[32]; rng.NextBytes(key);
                var ad = new byte[24 + len % 17]; rng.NextBytes(ad);
                var text = new byte[len]; rng.NextBytes(text);
                ulong nonce = (1UL << 32) | (uint)rng.Next();
                byte[] ours = WireCrypto.Seal(key, nonce, ad, default, text);

                var theirs = new byte[len];
                var tag = new byte[16];
                using (var aead = new System.Security.Cryptography.ChaCha20Poly1305(key))
                    aead.Encrypt(WireCrypto.Nonce96(nonce), text, theirs, tag, ad);
                Assert.Equal(theirs.Concat(tag).ToArray(), ours);
            }
        }

        [Fact]
        public void TwoPartAssociatedDataIsOneString()
        {
            var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
            byte[] a = Encoding.ASCII.GetBytes("header-and-nonce"), b = Encoding.ASCII.GetBytes("client nonce 16b");
            Assert.Equal(WireCrypto.Seal(key, 1, a.Concat(b).ToArray(), default, Array.Empty<byte>()),
                         WireCrypto.Seal(key, 1, a, b, Array.Empty<byte>()));
        }

        [Fact]
        public void AnyChangedByteOrWrongKeyOrNonceDoesNotOpen()
        {
            var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
            byte[] ad = new byte[24];
            byte[] sealedText = WireCrypto.Seal(key, 5, ad, default, Encoding.ASCII.GetBytes("$g#67"));
            for (int i = 0; i < sealedText.Length; i++)
            {
                var bad = (byte[])sealedText.Clone();
                bad[i] ^= 1;
                Assert.Null(WireCrypto.Open(key, 5, ad, default, bad));
            }
            var otherKey = (byte[])key.Clone(); otherKey[0] ^= 1;
            Assert.Null(WireCrypto.Open(otherKey, 5, ad, default, sealedText));
            Assert.Null(WireCrypto.Open(key, 6, ad, default, sealedText));
            Assert.NotNull(WireCrypto.Open(key, 5, ad, default, sealedText));
        }

        [Fact]
        public void KeyedBlake2sMatchesTheReferenceKnownAnswer()
        {
            // BLAKE2 reference KAT (blake2s-kat.txt): key 00..1f, empty input.
            var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
            Assert.Equal("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
                Convert.ToHexString(WireCrypto.Kdf(key, "")).ToLowerInvariant());
            // The label is hashed as its ASCII bytes, then the parts (Python: blake2s(b"kgdboe v2 hello", key=key)).
            Assert.Equal("720aa1f9daa9b3126591bf17f2979d845b54a473c64fb73cdcd6fdf321840444",
                Convert.ToHexString(WireCrypto.Kdf(key, WireCrypto.HelloLabel)).ToLowerInvariant());
            Assert.Equal(WireCrypto.Kdf(key, "ab", new byte[] { (byte)'c' }), WireCrypto.Kdf(key, "abc"));
        }

        [Fact]
        public void HeaderRoundTripsAndRejectsForeignDatagrams()
        {
            var h = new WireHeader(WireChannel.Stream, WireType.Data, 3, 0xdeadbeef, 7, 9, 11);
            var d = new byte[WireHeader.Overhead + 3];
            h.Write(d);
            Assert.Equal(new byte[] { 0x4b, 0x57, 2, 1, 1, 0, 3, 0, 0xef, 0xbe, 0xad, 0xde, 7, 0, 0, 0, 9, 0, 0, 0, 11, 0, 0, 0 }, d.Take(24).ToArray());
            Assert.True(WireHeader.TryRead(d, out WireHeader r));
            Assert.Equal((0xdeadbeefu, 7u, 9u, 11u, 3), (r.SessionId, r.PacketNumber, r.Seq, r.Ack, r.Length));
            Assert.False(WireHeader.TryRead(Encoding.ASCII.GetBytes("$?#3f"), out _));
            Assert.False(WireHeader.TryRead(d.Take(d.Length - 1).ToArray(), out _));
            var flags = (byte[])d.Clone(); flags[5] = 1;
            Assert.False(WireHeader.TryRead(flags, out _));
        }

        [Fact]
        public void IntervalSetMergesAndNamesTheGaps()
        {
            var s = new IntervalSet();
            s.Add(100, 200);
            s.Add(300, 400);
            s.Add(0, 50);
            Assert.Equal(new[] { (50, 100), (200, 300), (400, 500) }, s.Gaps(500).ToArray());
            s.Add(40, 310);
            Assert.Equal(new[] { (400, 500) }, s.Gaps(500).ToArray());
            Assert.True(s.Covers(400));
            Assert.False(s.Covers(401));
        }
    }
}
