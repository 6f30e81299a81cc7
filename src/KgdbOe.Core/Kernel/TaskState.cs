namespace KgdbOe.Kernel
{
    /// <summary>
    /// The one-letter task state that /proc/&lt;pid&gt;/stat and ps show, computed as the kernel does:
    /// __task_state_index() in include/linux/sched.h (same in 6.1 and 6.12) indexes task_state_array in fs/proc/array.c.
    /// </summary>
    public static class TaskState
    {
        private const uint TaskUninterruptible = 0x0002;
        private const uint TaskReport = 0x007f;        // RUNNING|INTERRUPTIBLE|UNINTERRUPTIBLE|__STOPPED|__TRACED|EXIT_DEAD|EXIT_ZOMBIE|PARKED
        private const uint TaskReportIdle = TaskReport + 1;
        private const uint TaskIdle = 0x0402;          // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
        private const uint TaskRtlockWait = 0x1000;
        private const uint TaskFrozen = 0x8000;

        /// <summary>"RSDTtXZPI": running, sleeping, disk sleep, stopped, tracing stop, dead, zombie, parked, idle.</summary>
        public const string Letters = "RSDTtXZPI";

        /// <summary>The index into <see cref="Letters"/> for a task's __state and exit_state.</summary>
        public static int Index(uint state, uint exitState)
        {
            uint report = (state | exitState) & TaskReport;
            if ((state & TaskIdle) == TaskIdle) report = TaskReportIdle;
            if ((state & TaskRtlockWait) != 0 || (state & TaskFrozen) != 0) report = TaskUninterruptible;
            int fls = 0;
            while (report != 0) { fls++; report >>= 1; }
            return fls;
        }

        /// <summary>The letter ps shows ('R', 'S', 'D', 'T', 't', 'X', 'Z', 'P', 'I').</summary>
        public static char Letter(uint state, uint exitState)
        {
            int i = Index(state, exitState);
            return i < Letters.Length ? Letters[i] : '?';
        }
    }
}
