using System.Globalization;
using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>Why and where the kernel stopped, with the program counter named by symbol.</summary>
    public sealed class KernelStop
    {
        internal KernelStop(KernelTargetSession target, StopEvent stop)
        {
            Target = target;
            Event = stop;
            Location = target.Describe(stop.ProgramCounter);
            Breakpoint = stop.Breakpoint is Client.Breakpoint bp ? new KernelBreakpoint(target, bp) : null;
            Cpu = target.CpuOf(stop);
        }

        public KernelTargetSession Target { get; }
        public StopReason Reason => Event.Reason;
        public int Signal => Event.Signal;

        /// <summary>The CPU that stopped; null when neither the stub nor the kernel told (see KernelTargetSession.CpuOf).</summary>
        public int? Cpu { get; }

        /// <summary>The thread id as the stub named it in the stop reply (hex; pass it to Get-KernelRegister -ThreadId).</summary>
        public string? ThreadId => Event.ThreadId;

        /// <summary>
        /// KGDB: the pid of the task that stopped (the stop reply names it in hex; an idle CPU is named by
        /// its shadow thread instead, kernel/debug/gdbstub.c shadow_pid). Null on QEMU, whose threads are vCPUs.
        /// </summary>
        public int? Pid =>
            Target.Kind == TargetKind.Kgdb && ThreadId != null &&
            int.TryParse(ThreadId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int pid) && pid > 0
                ? pid : (int?)null;

        public ulong ProgramCounter => Event.ProgramCounter;

        /// <summary>The program counter as symbol+offset, when the session has symbols.</summary>
        public string? Location { get; }
        public KernelBreakpoint? Breakpoint { get; }

        /// <summary>The protocol client's own record of the stop.</summary>
        public StopEvent Event { get; }

        /// <summary>"Breakpoint at __x64_sys_getppid (0xffffffffb94638ff) on CPU 1".</summary>
        public override string ToString()
        {
            string pc = "0x" + ProgramCounter.ToString("x16", CultureInfo.InvariantCulture);
            return $"{Reason} at {(Location == null ? pc : Location + " (" + pc + ")")}" +
                (Cpu == null ? "" : " on CPU " + Cpu.Value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
