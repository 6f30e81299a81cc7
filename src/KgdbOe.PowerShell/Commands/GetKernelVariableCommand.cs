using System.Linq;
using System.Management.Automation;
using KgdbOe.Kernel;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Reads a global or per-CPU kernel variable as a typed object. The type comes from -Type, else from the BTF VAR of a
    /// per-CPU variable, else from a small table of well-known globals (init_task, jiffies, prb, modules...); vmlinux BTF
    /// describes no other globals. A per-CPU variable is read on each CPU (or those of -Cpu) at its symbol's address plus
    /// __per_cpu_offset[cpu].
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelVariable")]
    [OutputType(typeof(KernelObjectView))]
    public sealed class GetKernelVariableCommand : KernelObjectCmdlet
    {
        // Per-CPU symbols are offsets into the per-CPU area (zero-based on x86-64), far below the kernel half.
        private const ulong PerCpuLimit = 0xffff800000000000UL;

        /// <summary>The variable's name (its symbol).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public string[] Name { get; set; } = new string[0];

        /// <summary>For a per-CPU variable: the CPUs whose copies to read (all when omitted).</summary>
        [Parameter]
        [ValidateRange(0, 8191)]
        public int[]? Cpu { get; set; }

        /// <summary>The C type to read it as, for a global BTF does not describe.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(TypeNameCompleter))]
        public string? Type { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            KernelContext context = GetContext(session);
            foreach (string name in Name) Guard(() => ReadVariable(session, context, name));
        }

        private void ReadVariable(KernelTargetSession session, KernelContext context, string name)
        {
            ulong symbol = Kernel(session, name, () => context.GetSymbolAddress(name));
            KernelType type = Kernel(session, name, () => TypeOf(context, name));
            bool perCpu = symbol < PerCpuLimit;
            if (!perCpu)
            {
                if (Cpu != null)
                    throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, name,
                        $"'{name}' is not a per-CPU variable (its address 0x{symbol:x16} is not in the per-CPU area): leave out -Cpu.");
                WriteObject(new KernelObjectView(Kernel(session, name, async ct => (await context.ReadObjectAsync(symbol, type, ct).ConfigureAwait(false)).AsVariable(name, null))));
                return;
            }
            ulong[] offsets = Kernel(session, name, ct => context.GetPerCpuOffsetsAsync(ct));
            int[] cpus = Cpu ?? Enumerable.Range(0, offsets.Length).ToArray();
            foreach (int cpu in cpus)
            {
                Guard(() =>
                {
                    if (cpu >= offsets.Length)
                        throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, cpu,
                            $"The kernel has CPUs 0 to {offsets.Length - 1} (nr_cpu_ids is {offsets.Length}); there is no CPU {cpu}.");
                    ulong address = unchecked(symbol + offsets[cpu]);
                    WriteObject(new KernelObjectView(Kernel(session, name, async ct => (await context.ReadObjectAsync(address, type, ct).ConfigureAwait(false)).AsVariable(name, cpu))));
                });
            }
        }

        private KernelType TypeOf(KernelContext context, string name)
        {
            if (Type != null) return context.FindType(Type);
            if (context.Types.FindVariable(name) is VariableType variable) return variable.Type;
            if (KnownVariables.Find(name) is KnownVariables.Row row) return context.FindType(row.Type);
            throw new KernelTypeNotFoundException(name,
                $"The kernel's BTF describes only per-CPU variables, and '{name}' is not one of the well-known globals KgdbOe knows the type of: give its type with -Type (as in -Type 'unsigned long').");
        }
    }
}
