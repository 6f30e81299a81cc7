namespace KgdbOe.Protocol
{
    internal enum WireEventKind
    {
        /// <summary>'+': the peer took our last packet.</summary>
        Ack,
        /// <summary>'-': the peer rejected our last packet (or abandoned its reply).</summary>
        Nak,
        /// <summary>A packet whose checksum matched; Payload is decoded (escapes and run lengths undone).</summary>
        Packet,
        /// <summary>A packet whose checksum did not match, or that broke off; ask for it again.</summary>
        BadPacket,
        /// <summary>Bytes outside any packet (kdb chatter, console text).</summary>
        Junk,
    }

    /// <summary>One thing the decoder recognised in the incoming byte stream.</summary>
    internal readonly struct WireEvent
    {
        public WireEvent(WireEventKind kind, byte[]? payload = null, string? detail = null)
        {
            Kind = kind;
            Payload = payload ?? System.Array.Empty<byte>();
            Detail = detail;
        }

        public WireEventKind Kind { get; }
        public byte[] Payload { get; }
        /// <summary>Why a packet was bad, or the junk text.</summary>
        public string? Detail { get; }

        public string PayloadText => System.Text.Encoding.ASCII.GetString(Payload);

        public override string ToString() => Kind + (Kind == WireEventKind.Packet ? " " + PayloadText : Detail == null ? "" : " " + Detail);
    }
}
