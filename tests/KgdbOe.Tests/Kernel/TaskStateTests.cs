using KgdbOe.Kernel;
using Xunit;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>The state letter, as fs/proc/array.c's task_state_array indexed by __task_state_index() gives it.</summary>
    public sealed class TaskStateTests
    {
        [Theory]
        [InlineData(0x0000u, 0x00u, 'R')]  // TASK_RUNNING
        [InlineData(0x0001u, 0x00u, 'S')]  // TASK_INTERRUPTIBLE
        [InlineData(0x0002u, 0x00u, 'D')]  // TASK_UNINTERRUPTIBLE
        [InlineData(0x0004u, 0x00u, 'T')]  // __TASK_STOPPED
        [InlineData(0x0104u, 0x00u, 'T')]  // TASK_STOPPED = WAKEKILL | __TASK_STOPPED
        [InlineData(0x0008u, 0x00u, 't')]  // __TASK_TRACED
        [InlineData(0x0000u, 0x10u, 'X')]  // EXIT_DEAD
        [InlineData(0x0080u, 0x20u, 'Z')]  // TASK_DEAD with EXIT_ZOMBIE
        [InlineData(0x0040u, 0x00u, 'P')]  // TASK_PARKED
        [InlineData(0x0402u, 0x00u, 'I')]  // TASK_IDLE = UNINTERRUPTIBLE | NOLOAD
        [InlineData(0x1000u, 0x00u, 'D')]  // TASK_RTLOCK_WAIT
        [InlineData(0x8000u, 0x00u, 'D')]  // TASK_FROZEN
        [InlineData(0x2001u, 0x00u, 'S')]  // TASK_FREEZABLE | INTERRUPTIBLE
        public void GivesTheLetterProcShows(uint state, uint exitState, char letter) =>
            Assert.Equal(letter, TaskState.Letter(state, exitState));
    }
}
