namespace KgdbOe.Client
{
    public enum StopReason
    {
        Breakpoint,
        Watchpoint,
        Step,
        Interrupt,
        Signal,
    }
}
