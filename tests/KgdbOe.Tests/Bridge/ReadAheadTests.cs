using System.Linq;
using KgdbOe.Bridge;
using Xunit;

namespace KgdbOe.Tests.Bridge
{
    public class ReadAheadTests
    {
        [Fact]
        public void ReadsAheadOnlyWhenAReadFollowsTheLastOne()
        {
            var ahead = new ReadAhead();
            Assert.Equal(4096, ahead.LengthToRead(0x1000, 4096)); // nothing read yet
            ahead.Store(0x1000, new byte[4096], 4096);
            Assert.Equal(ReadAhead.Size, ahead.LengthToRead(0x2000, 4096));
            Assert.Equal(4096, ahead.LengthToRead(0x8000, 4096)); // a jump
        }

        [Fact]
        public void AnswersFromTheBytesReadAheadUntilCleared()
        {
            var ahead = new ReadAhead();
            byte[] data = Enumerable.Range(0, ReadAhead.Size).Select(i => (byte)(i * 3)).ToArray();
            ahead.Store(0x10000, data, 100);
            Assert.Equal(data.Skip(100).Take(200), ahead.TryGet(0x10000 + 100, 200));
            Assert.Null(ahead.TryGet(0x10000 + ReadAhead.Size - 10, 20)); // runs past what was read
            Assert.Null(ahead.TryGet(0xffff, 2)); // starts before it
            Assert.Equal(ReadAhead.Size, ahead.LengthToRead(0x10000 + 300, 10));
            ahead.Clear();
            Assert.Null(ahead.TryGet(0x10000, 1));
            Assert.Equal(10, ahead.LengthToRead(0x10000 + 1, 10));
        }
    }
}
