using System.Globalization;
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

        /// <summary>"CPU 1 (fffffffd)" for a CPU, "workload pid 419" for a task, else the stub's id and name.</summary>
        public override string ToString()
        {
            if (IsCpu && Cpu != null) return $"CPU {Cpu.Value.ToString(CultureInfo.InvariantCulture)} ({Id})";
            if (Pid != null) return $"{Name ?? Id} pid {Pid.Value.ToString(CultureInfo.InvariantCulture)}";
            return Thread.ToString();
        }
    }
}
