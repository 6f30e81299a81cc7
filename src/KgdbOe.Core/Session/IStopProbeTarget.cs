namespace KgdbOe.Session
{
    /// <summary>
    /// What a conversation that probes for a lost stop reply needs from run control: which register is pc,
    /// what a stop at a given pc means, and where to keep the pc the probe read. Implemented by
    /// <see cref="Client.RunControl"/>, which knows the breakpoints and whether it steps.
    /// </summary>
    internal interface IStopProbeTarget
    {
        /// <summary>The 'p' register number of the program counter (from the dialect's register map).</summary>
        int ProgramCounterNumber { get; }

        /// <summary>The resume whose stop is awaited, to send again when it was lost: "s" while stepping, else "c".</summary>
        string PendingResume { get; }

        /// <summary>
        /// True when a target found stopped at <paramref name="pc"/> never ran our resume (a step still at its
        /// start; a continue stopped where no breakpoint of ours is and nobody interrupted it).
        /// </summary>
        bool ResumeWasLost(ulong pc);

        /// <summary>The probe found the target stopped at <paramref name="pc"/> and its stop reply lost: the stop taken next stands there.</summary>
        void StoppedAt(ulong pc);
    }
}
