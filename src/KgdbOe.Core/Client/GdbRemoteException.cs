using System;

namespace KgdbOe.Client
{
    /// <summary>Anything that went wrong talking to a GDB stub; Command is the request that failed, when there was one.</summary>
    public class GdbRemoteException : Exception
    {
        public GdbRemoteException(string message, string? command = null, Exception? inner = null)
            : base(message, inner)
        {
            Command = command;
        }

        public string? Command { get; }
    }

    /// <summary>The target did not answer in time (after all retransmissions), or no stop came within the wait.</summary>
    public sealed class TargetTimeoutException : GdbRemoteException
    {
        public TargetTimeoutException(string message, string? command = null, Exception? inner = null)
            : base(message, command, inner) { }
    }

    /// <summary>The target answered with an error reply (Enn).</summary>
    public sealed class TargetErrorException : GdbRemoteException
    {
        public TargetErrorException(string message, int errorCode, ulong? address, string? command = null)
            : base(message, command)
        {
            ErrorCode = errorCode;
            Address = address;
        }

        /// <summary>The number after E; KGDB sends errno in decimal (E22 = EINVAL, E14 = EFAULT).</summary>
        public int ErrorCode { get; }
        public ulong? Address { get; }
    }

    /// <summary>The bytes from the target do not make a valid reply for the request.</summary>
    public sealed class GdbProtocolException : GdbRemoteException
    {
        public GdbProtocolException(string message, string? command = null, Exception? inner = null)
            : base(message, command, inner) { }
    }

    /// <summary>The connection could not be made, or broke.</summary>
    public sealed class TargetConnectionException : GdbRemoteException
    {
        public TargetConnectionException(string message, string? command = null, Exception? inner = null)
            : base(message, command, inner) { }
    }
}

namespace KgdbOe.Client
{
    /// <summary>
    /// The keyed (v2) handshake failed: no answer that authenticates under the key came from the
    /// target. The key is wrong, or the module there has no key (raw mode), or nothing listens.
    /// The target was not touched: a datagram that does not authenticate never reaches its stub.
    /// </summary>
    public sealed class AuthenticationFailedException : GdbRemoteException
    {
        public AuthenticationFailedException(string message, Exception? inner = null)
            : base(message, null, inner) { }
    }
}
