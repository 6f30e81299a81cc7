using System;
using System.Buffers.Binary;

namespace KgdbOe.Wire
{
    /// <summary>The v2 wire's channels (docs/wire-v2.md, header byte 3).</summary>
    internal enum WireChannel : byte
    {
        Control = 0,
        Stream = 1,
        Memory = 2,
    }

    /// <summary>Message types; their meaning depends on the channel (header byte 4).</summary>
    internal static class WireType
    {
        public const byte Hello = 1, Challenge = 2, Proof = 3, Accept = 4, Close = 5;
        public const byte Data = 1, Ack = 2;
        public const byte Read = 1, MemData = 2;
    }

    /// <summary>
    /// The 24-byte header of every v2 datagram, little-endian (docs/wire-v2.md; the module's
    /// struct wire_hdr in module-c/kgdboe_wire.c): magic "KW", version 2, channel, type, flags,
    /// body length, session id, packet number, seq, ack. It is the AEAD's associated data.
    /// </summary>
    internal readonly struct WireHeader
    {
        public const int Size = 24;
        public const int TagSize = 16;
        public const int Overhead = Size + TagSize;
        public const byte Magic0 = 0x4b, Magic1 = 0x57, Version = 2;

        public WireHeader(WireChannel channel, byte type, int length, uint sessionId, uint packetNumber, uint seq, uint ack)
        {
            Channel = channel;
            Type = type;
            Length = length;
            SessionId = sessionId;
            PacketNumber = packetNumber;
            Seq = seq;
            Ack = ack;
        }

        public WireChannel Channel { get; }
        public byte Type { get; }
        /// <summary>Body bytes between header and tag.</summary>
        public int Length { get; }
        public uint SessionId { get; }
        public uint PacketNumber { get; }
        public uint Seq { get; }
        public uint Ack { get; }

        public void Write(Span<byte> to)
        {
            to[0] = Magic0;
            to[1] = Magic1;
            to[2] = Version;
            to[3] = (byte)Channel;
            to[4] = Type;
            to[5] = 0;
            BinaryPrimitives.WriteUInt16LittleEndian(to.Slice(6), checked((ushort)Length));
            BinaryPrimitives.WriteUInt32LittleEndian(to.Slice(8), SessionId);
            BinaryPrimitives.WriteUInt32LittleEndian(to.Slice(12), PacketNumber);
            BinaryPrimitives.WriteUInt32LittleEndian(to.Slice(16), Seq);
            BinaryPrimitives.WriteUInt32LittleEndian(to.Slice(20), Ack);
        }

        /// <summary>Parses a datagram's header; false for anything that is not a well-formed v2 datagram.</summary>
        public static bool TryRead(ReadOnlySpan<byte> datagram, out WireHeader header)
        {
            header = default;
            if (datagram.Length < Overhead) return false;
            if (datagram[0] != Magic0 || datagram[1] != Magic1 || datagram[2] != Version || datagram[5] != 0) return false;
            int length = BinaryPrimitives.ReadUInt16LittleEndian(datagram.Slice(6));
            if (length != datagram.Length - Overhead) return false;
            header = new WireHeader((WireChannel)datagram[3], datagram[4], length,
                BinaryPrimitives.ReadUInt32LittleEndian(datagram.Slice(8)),
                BinaryPrimitives.ReadUInt32LittleEndian(datagram.Slice(12)),
                BinaryPrimitives.ReadUInt32LittleEndian(datagram.Slice(16)),
                BinaryPrimitives.ReadUInt32LittleEndian(datagram.Slice(20)));
            return true;
        }
    }
}
