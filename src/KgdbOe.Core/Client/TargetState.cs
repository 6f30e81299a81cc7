namespace KgdbOe.Client
{
    public enum TargetState
    {
        Running,
        Stopped,
        Detached,
    }
}
