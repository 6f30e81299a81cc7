namespace KgdbOe.Client
{
    /// <summary>A thread as the stub lists it: a CPU (KGDB shadow thread or QEMU vCPU) or a task.</summary>
    public sealed class TargetThread
    {
        public TargetThread(string id, string? name, bool isCpu, int? cpu, int? pid)
        {
            Id = id;
            Name = name;
            IsCpu = isCpu;
            Cpu = cpu;
            Pid = pid;
        }

        public string Id { get; }
        public string? Name { get; }
        public bool IsCpu { get; }
        public int? Cpu { get; }
        public int? Pid { get; }

        public override string ToString() => Id + (Name == null ? "" : " " + Name);
    }
}
