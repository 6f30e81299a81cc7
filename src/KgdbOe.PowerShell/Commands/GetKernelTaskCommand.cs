using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Lists the kernel's tasks like ps: from init_task (pid 0) along the tasks list, each read once (only the span of
    /// task_struct that holds pid, tgid, comm, state, flags, cpu and the links). -IncludeThread adds every thread of each
    /// process; -Current gives the task each online CPU runs.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelTask", DefaultParameterSetName = All)]
    [OutputType(typeof(KernelTask))]
    public sealed class GetKernelTaskCommand : KernelObjectCmdlet
    {
        private const string All = "All";
        private const string Current_ = "Current";

        /// <summary>Only tasks with these pids (thread ids).</summary>
        [Parameter(Position = 0, ParameterSetName = All)]
        public int[]? Pid { get; set; }

        /// <summary>Only tasks whose comm matches.</summary>
        [Parameter(ParameterSetName = All)]
        [Alias("Comm")]
        [SupportsWildcards]
        public string[]? Name { get; set; }

        /// <summary>List every thread of each process too, after its process.</summary>
        [Parameter(ParameterSetName = All)]
        public SwitchParameter IncludeThread { get; set; }

        /// <summary>The task each online CPU runs (swapper/N when idle), in CPU order.</summary>
        [Parameter(Mandatory = true, ParameterSetName = Current_)]
        public SwitchParameter Current { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            KernelContext context = GetContext(session);
            KernelTasks tasks = Kernel(session, "struct task_struct", () => new KernelTasks(context));
            if (Current)
            {
                foreach (KernelTaskInfo info in Kernel(session, session, ct => tasks.CurrentAsync(ct)))
                    WriteObject(new KernelTask(session, info));
                return;
            }

            var found = new List<KernelTaskInfo>();
            KgdbOeErrorException? failure = null;
            try
            {
                Kernel(session, "init_task", async ct => { await tasks.ListAsync(IncludeThread, found, ct).ConfigureAwait(false); return true; });
            }
            catch (KgdbOeErrorException e)
            {
                failure = e; // the tasks read before it are still written
            }
            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (KernelTaskInfo info in found)
            {
                if (Pid != null && !Pid.Contains(info.Pid)) continue;
                if (patterns != null && !patterns.Any(p => p.IsMatch(info.Comm))) continue;
                WriteObject(new KernelTask(session, info));
            }
            if (failure != null) throw failure;
        }
    }
}
