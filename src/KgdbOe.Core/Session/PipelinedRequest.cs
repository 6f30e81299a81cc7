using KgdbOe.Protocol;

namespace KgdbOe.Session
{
    /// <summary>One request of a pipelined batch.</summary>
    internal readonly struct PipelinedRequest
    {
        public PipelinedRequest(string payload, ReplyShape shape)
        {
            Payload = payload;
            Shape = shape;
        }

        public string Payload { get; }
        public ReplyShape Shape { get; }
    }
}
