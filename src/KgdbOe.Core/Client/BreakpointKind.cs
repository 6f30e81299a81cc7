namespace KgdbOe.Client
{
    /// <summary>The Z packet kinds: Software=Z0, Hardware=Z1, WriteWatch=Z2, ReadWatch=Z3, AccessWatch=Z4.</summary>
    public enum BreakpointKind
    {
        Software,
        Hardware,
        WriteWatch,
        ReadWatch,
        AccessWatch,
    }
}
