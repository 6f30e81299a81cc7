using System;
using System.Collections.Generic;
using System.Globalization;

namespace KgdbOe.PowerShell
{
    /// <summary>One hit of a watched breakpoint (Watch-KernelBreakpoint): when, where, in which task, with which arguments.</summary>
    public sealed class KernelBreakpointHit
    {
        internal KernelBreakpointHit(KernelTargetSession target, int index, DateTime time, KernelBreakpoint breakpoint, int? cpu, int? pid, string? command,
            ulong programCounter, string? location, IReadOnlyList<KernelFunctionArgument>? arguments)
        {
            Target = target;
            Index = index;
            Time = time;
            Breakpoint = breakpoint;
            Cpu = cpu;
            Pid = pid;
            Command = command;
            ProgramCounter = programCounter;
            Location = location;
            Arguments = arguments ?? Array.Empty<KernelFunctionArgument>();
        }

        public KernelTargetSession Target { get; }

        /// <summary>1 for the first hit returned, counting only hits that were returned.</summary>
        public int Index { get; }

        /// <summary>When the client saw the stop (local time).</summary>
        public DateTime Time { get; }

        public KernelBreakpoint Breakpoint { get; }
        public int BreakpointId => Breakpoint.Id;

        /// <summary>The CPU that hit it (kgdb_active; null when unknown).</summary>
        public int? Cpu { get; }

        /// <summary>The pid of the task that hit it (KGDB's stop reply; null on an idle CPU or QEMU).</summary>
        public int? Pid { get; }

        /// <summary>The task's comm (KGDB's thread name), null when unknown.</summary>
        public string? Command { get; }

        public ulong ProgramCounter { get; }

        /// <summary>symbol+0x.. [module].</summary>
        public string? Location { get; }

        /// <summary>The function's parameters at its entry, named and typed from BTF (empty when pc is not a vmlinux function's entry).</summary>
        public IReadOnlyList<KernelFunctionArgument> Arguments { get; }

        /// <summary>With -Stack: the backtrace at the hit; null otherwise.</summary>
        public IReadOnlyList<KernelStackFrame>? Stack { get; internal set; }

        /// <summary>A parameter by name (null when there is none).</summary>
        public KernelFunctionArgument? this[string name]
        {
            get
            {
                foreach (KernelFunctionArgument a in Arguments) if (a.Name == name) return a;
                return null;
            }
        }

        /// <summary>"#3 __x64_sys_getppid pid 123 (workload) CPU 1".</summary>
        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "#{0} {1}{2}{3}", Index, Location ?? "0x" + ProgramCounter.ToString("x16", CultureInfo.InvariantCulture),
                Pid == null ? "" : $" pid {Pid} ({Command})", Cpu == null ? "" : $" CPU {Cpu}");
    }
}
