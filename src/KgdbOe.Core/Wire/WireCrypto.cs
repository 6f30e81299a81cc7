using System;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace KgdbOe.Wire
{
    /// <summary>
    /// The v2 wire's cryptography, the same as module-c/kgdboe_crypto.c: ChaCha20-Poly1305 (RFC 8439)
    /// with the kernel's u64 nonce, which is RFC 8439's 96-bit nonce 00 00 00 00 || le64(n)
    /// (lib/crypto/chacha20poly1305.c), and BLAKE2s-256 keyed with the pre-shared key as the KDF.
    /// BouncyCastle: .NET's own ChaCha20Poly1305 is not in netstandard2.0.
    /// </summary>
    internal static class WireCrypto
    {
        public const int KeySize = 32;
        public const int TagSize = 16;

        /// <summary>Direction bit of session nonces: module to client (docs/wire-v2.md).</summary>
        public const ulong ModuleDirection = 1UL << 32;

        internal static byte[] Nonce96(ulong nonce)
        {
            var n = new byte[12];
            for (int i = 0; i < 8; i++) n[4 + i] = (byte)(nonce >> (8 * i));
            return n;
        }

        /// <summary>Encrypts plaintext; returns ciphertext followed by the 16-byte tag. ad2 is appended to ad.</summary>
        public static byte[] Seal(byte[] key, ulong nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ad2, ReadOnlySpan<byte> plaintext)
        {
            var aead = new ChaCha20Poly1305();
            aead.Init(true, new AeadParameters(new KeyParameter(key), TagSize * 8, Nonce96(nonce)));
            aead.ProcessAadBytes(ad.ToArray(), 0, ad.Length);
            if (ad2.Length > 0) aead.ProcessAadBytes(ad2.ToArray(), 0, ad2.Length);
            var output = new byte[aead.GetOutputSize(plaintext.Length)];
            byte[] input = plaintext.ToArray();
            int n = aead.ProcessBytes(input, 0, input.Length, output, 0);
            aead.DoFinal(output, n);
            return output;
        }

        /// <summary>Checks the tag at the end of sealed and decrypts; null if it does not open.</summary>
        public static byte[]? Open(byte[] key, ulong nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ad2, ReadOnlySpan<byte> sealedText)
        {
            if (sealedText.Length < TagSize) return null;
            var aead = new ChaCha20Poly1305();
            aead.Init(false, new AeadParameters(new KeyParameter(key), TagSize * 8, Nonce96(nonce)));
            aead.ProcessAadBytes(ad.ToArray(), 0, ad.Length);
            if (ad2.Length > 0) aead.ProcessAadBytes(ad2.ToArray(), 0, ad2.Length);
            byte[] input = sealedText.ToArray();
            var output = new byte[aead.GetOutputSize(input.Length)];
            try
            {
                int n = aead.ProcessBytes(input, 0, input.Length, output, 0);
                aead.DoFinal(output, n);
            }
            catch (InvalidCipherTextException)
            {
                return null;
            }
            return output;
        }

        /// <summary>BLAKE2s-256(key, label || parts...): the module's kgdboe_kdf().</summary>
        public static byte[] Kdf(byte[] key, string label, params byte[][] parts)
        {
            var d = new Blake2sDigest(key, KeySize, null, null);
            byte[] l = Encoding.ASCII.GetBytes(label);
            d.BlockUpdate(l, 0, l.Length);
            foreach (byte[] p in parts) d.BlockUpdate(p, 0, p.Length);
            var output = new byte[KeySize];
            d.DoFinal(output, 0);
            return output;
        }

        public const string HelloLabel = "kgdboe v2 hello";
        public const string SessionLabel = "kgdboe v2 session";
    }
}
