using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>A task or a CPU as the target's stub lists them.</summary>
    public sealed class KernelThread
    {
        internal KernelThread(KernelTargetSession target, TargetThread thread)
        {
            Target = target;
            Thread = thread;
        }

        public KernelTargetSession Target { get; }
        public string Id => Thread.Id;
        public string? Name => Thread.Name;
        public bool IsCpu => Thread.IsCpu;
        public int? Cpu => Thread.Cpu;
        public int? Pid => Thread.Pid;
        public TargetThread Thread { get; }

        public override string ToString() => Thread.ToString();
    }
}
