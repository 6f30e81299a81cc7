using System;
using System.Security.Cryptography;
using System.Text;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// A server's public host key as sent on the wire (the SSH "key blob"), with the key type read
    /// from the blob itself so RSA keys compare equal whichever rsa-sha2-* algorithm signed them.
    /// </summary>
    internal sealed class SshHostKey
    {
        public SshHostKey(byte[] blob)
        {
            Blob = blob ?? throw new ArgumentNullException(nameof(blob));
            KeyType = ReadKeyType(blob);
        }

        public byte[] Blob { get; }

        /// <summary>ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...</summary>
        public string KeyType { get; }

        /// <summary>The fingerprint exactly as OpenSSH prints it: SHA256:base64 without padding.</summary>
        public string Fingerprint
        {
            get
            {
                using (var sha = SHA256.Create())
                {
                    return "SHA256:" + Convert.ToBase64String(sha.ComputeHash(Blob)).TrimEnd('=');
                }
            }
        }

        public string Base64 => Convert.ToBase64String(Blob);

        public bool SameKeyAs(SshHostKey other)
        {
            if (Blob.Length != other.Blob.Length) return false;
            for (int i = 0; i < Blob.Length; i++)
            {
                if (Blob[i] != other.Blob[i]) return false;
            }
            return true;
        }

        public override string ToString() => KeyType + " " + Fingerprint;

        // The blob starts with an SSH string: a big-endian uint32 length, then the type name.
        private static string ReadKeyType(byte[] blob)
        {
            if (blob.Length < 4) return "unknown";
            int length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
            if (length <= 0 || length > 64 || 4 + length > blob.Length) return "unknown";
            return Encoding.ASCII.GetString(blob, 4, length);
        }
    }
}
