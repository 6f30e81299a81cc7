using System.Globalization;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// A task as ps shows it. Address and Type ("struct task_struct") let it be piped into Read-KernelObject for the whole
    /// struct; Pid and ParentPid are what /proc/&lt;pid&gt;/stat calls pid and ppid.
    /// </summary>
    public sealed class KernelTask
    {
        internal KernelTask(KernelTargetSession target, KernelTaskInfo info)
        {
            Target = target;
            Info = info;
        }

        public KernelTargetSession Target { get; }

        /// <summary>What the kernel's task_struct said.</summary>
        public KernelTaskInfo Info { get; }

        /// <summary>task->pid (the thread id).</summary>
        public int Pid => Info.Pid;

        /// <summary>task->tgid (the process id).</summary>
        public int Tgid => Info.Tgid;

        /// <summary>real_parent->tgid, as /proc/&lt;pid&gt;/stat's ppid.</summary>
        public int ParentPid => Info.ParentPid;

        /// <summary>task->comm.</summary>
        public string Comm => Info.Comm;

        /// <summary>The state letter /proc shows: R S D T t X Z P I.</summary>
        public string State => Info.State.ToString(CultureInfo.InvariantCulture);

        /// <summary>The CPU it runs or last ran on.</summary>
        public int Cpu => Info.Cpu;

        /// <summary>PF_KTHREAD.</summary>
        public bool IsKernelThread => Info.IsKernelThread;

        /// <summary>For -Current: the CPU it is current on.</summary>
        public int? CurrentOnCpu => Info.CurrentOnCpu;

        /// <summary>task->flags (PF_*).</summary>
        public uint Flags => Info.Flags;

        /// <summary>The address of its struct task_struct.</summary>
        public ulong Address => Info.Address;

        /// <summary>Its C type, for Read-KernelObject.</summary>
        public string Type => "struct task_struct";

        /// <summary>The address of its parent's struct task_struct.</summary>
        public ulong ParentAddress => Info.ParentAddress;

        public override string ToString() => Info.Comm + " (" + Info.Pid.ToString(CultureInfo.InvariantCulture) + ")";
    }
}
