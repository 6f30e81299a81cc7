using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>One task (process or thread) as ps shows it, read from its struct task_struct.</summary>
    public sealed class KernelTaskInfo
    {
        internal KernelTaskInfo(ulong address, KernelObject task, int cpu, uint flags, uint state, uint exitState)
        {
            Address = address;
            Pid = (int)task.GetInt64("pid");
            Tgid = (int)task.GetInt64("tgid");
            Comm = task.GetString("comm");
            Cpu = cpu;
            Flags = flags;
            StateValue = state;
            ExitState = exitState;
            State = TaskState.Letter(state, exitState);
            ParentAddress = task.GetUInt64("real_parent");
        }

        /// <summary>The address of its struct task_struct.</summary>
        public ulong Address { get; }

        /// <summary>task->pid: the thread id (the process id for a thread group leader).</summary>
        public int Pid { get; }

        /// <summary>task->tgid: the process id.</summary>
        public int Tgid { get; }

        /// <summary>task->comm (at most 15 characters).</summary>
        public string Comm { get; }

        /// <summary>The letter /proc shows (R S D T t X Z P I).</summary>
        public char State { get; }

        /// <summary>task->__state.</summary>
        public uint StateValue { get; }

        /// <summary>task->exit_state.</summary>
        public uint ExitState { get; }

        /// <summary>The CPU it runs or last ran on (task_cpu(): thread_info.cpu).</summary>
        public int Cpu { get; }

        /// <summary>task->flags (PF_*).</summary>
        public uint Flags { get; }

        /// <summary>PF_KTHREAD (include/linux/sched.h 0x00200000).</summary>
        public bool IsKernelThread => (Flags & 0x00200000) != 0;

        /// <summary>task->real_parent.</summary>
        public ulong ParentAddress { get; }

        /// <summary>The parent's tgid, as /proc/&lt;pid&gt;/stat's ppid (fs/proc/array.c: task_tgid_nr_ns(real_parent)); 0 for pid 0.</summary>
        public int ParentPid { get; internal set; }

        /// <summary>For Get-KernelTask -Current: the CPU this task is current on; else null.</summary>
        public int? CurrentOnCpu { get; internal set; }
    }

    /// <summary>
    /// Reads tasks (include/linux/sched.h struct task_struct) by the members ps needs: only the span of the struct between
    /// the first and the last of them is read, one read per task. Walks init_task.tasks like for_each_process
    /// (include/linux/sched/signal.h), each process's threads through signal->thread_head / thread_node like
    /// for_each_thread (present in both 6.1 and 6.12), and the current task of each CPU from the per-CPU
    /// pcpu_hot.current_task (6.2+) or current_task (6.1) (arch/x86/include/asm/current.h).
    /// </summary>
    public sealed class KernelTasks
    {
        private readonly KernelContext _context;
        private readonly StructType _task;
        private readonly string _stateMember;   // "__state" since 5.14, "state" before
        private readonly string _cpuMember;     // "thread_info.cpu" (THREAD_INFO_IN_TASK, 5.16+) or "cpu"
        private readonly int _spanStart;
        private readonly int _spanLength;
        private readonly ulong _tasksOffset;
        private readonly ulong _threadNodeOffset;
        private readonly ulong _threadHeadOffset; // in struct signal_struct
        private readonly ulong _tgidOffset;

        /// <summary>Learns the layout from the kernel's BTF; throws <see cref="KernelTypeNotFoundException"/> or <see cref="KernelMemberNotFoundException"/>.</summary>
        public KernelTasks(KernelContext context)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _task = context.FindStruct("struct task_struct");
            var layout = context.GetLayout(_task);
            _stateMember = layout.Find("__state") != null ? "__state" : "state";
            _cpuMember = TryField("thread_info.cpu") != null ? "thread_info.cpu" : "cpu";
            string[] members = { _stateMember, "exit_state", "flags", _cpuMember, "pid", "tgid", "comm", "real_parent", "tasks", "signal", "thread_node" };
            KernelField[] fields = members.Select(m => context.FindField(_task, m)).ToArray();
            ulong start = fields.Min(f => f.Offset);
            ulong end = fields.Max(f => f.Offset + Math.Max(1UL, f.Type.Size));
            _spanStart = (int)start;
            _spanLength = (int)(end - start);
            _tasksOffset = context.FindField(_task, "tasks").Offset;
            _threadNodeOffset = context.FindField(_task, "thread_node").Offset;
            _tgidOffset = context.FindField(_task, "tgid").Offset;
            _threadHeadOffset = context.FindField(context.FindStruct("struct signal_struct"), "thread_head").Offset;
        }

        /// <summary>The task_struct type.</summary>
        public StructType TaskType => _task;

        /// <summary>How many bytes one task costs to read.</summary>
        public int BytesPerTask => _spanLength;

        private KernelField? TryField(string path)
        {
            try { return _context.FindField(_task, path); }
            catch (KernelMemberNotFoundException) { return null; }
        }

        /// <summary>Reads the task at <paramref name="address"/> (its parent pid from one more small read).</summary>
        public async Task<KernelTaskInfo> ReadAsync(ulong address, CancellationToken ct)
        {
            (KernelTaskInfo info, _) = await ReadTaskAsync(address, ct).ConfigureAwait(false);
            info.ParentPid = await ParentPidAsync(info, null, ct).ConfigureAwait(false);
            return info;
        }

        private async Task<(KernelTaskInfo Info, KernelObject Task)> ReadTaskAsync(ulong address, CancellationToken ct)
        {
            KernelContext.CheckPointer(address, "struct task_struct");
            byte[] span = await _context.ReadBytesAsync(address + (ulong)_spanStart, _spanLength, "struct task_struct", ct).ConfigureAwait(false);
            var whole = new byte[(int)_task.Size];
            Buffer.BlockCopy(span, 0, whole, _spanStart, span.Length);
            var task = new KernelObject(_context, address, _task, whole, 0);
            var info = new KernelTaskInfo(address, task, (int)task.GetUInt64(_cpuMember), (uint)task.GetUInt64("flags"),
                (uint)task.GetUInt64(_stateMember), (uint)task.GetUInt64("exit_state"));
            return (info, task);
        }

        private async Task<int> ParentPidAsync(KernelTaskInfo info, Dictionary<ulong, int>? known, CancellationToken ct)
        {
            if (info.ParentAddress == 0 || info.ParentAddress == info.Address && info.Pid == 0) return 0;
            if (known != null && known.TryGetValue(info.ParentAddress, out int tgid)) return tgid;
            return (int)await _context.ReadUInt32Async(info.ParentAddress + _tgidOffset, "struct task_struct (real_parent)", ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Every process from init_task (pid 0, swapper/0) on, in the order of the tasks list; with
        /// <paramref name="includeThreads"/> each process is followed by its other threads. Tasks are added to
        /// <paramref name="sink"/> as they are read, so after an error (<see cref="KernelListCycleException"/>,
        /// <see cref="KernelBadPointerException"/>) the ones before it are there.
        /// </summary>
        public async Task ListAsync(bool includeThreads, ICollection<KernelTaskInfo> sink, CancellationToken ct)
        {
            ulong initTask = _context.GetSymbolAddress("init_task");
            ulong head = initTask + _tasksOffset;
            var tgids = new Dictionary<ulong, int>();
            var seen = new HashSet<ulong>();
            ulong address = initTask;
            int count = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                (KernelTaskInfo info, KernelObject task) = await ReadTaskAsync(address, ct).ConfigureAwait(false);
                tgids[address] = info.Tgid;
                info.ParentPid = await ParentPidAsync(info, tgids, ct).ConfigureAwait(false);
                sink.Add(info);
                count++;
                if (includeThreads && address != initTask)
                    await AddThreadsAsync(task, info, tgids, sink, ct).ConfigureAwait(false);

                ulong next = task.GetUInt64("tasks.next");
                if (next == head) return;
                if (!seen.Add(next) || count >= KernelListWalker.MaxEntries) throw new KernelListCycleException(head, next, count);
                address = next - _tasksOffset;
            }
        }

        private async Task AddThreadsAsync(KernelObject leader, KernelTaskInfo leaderInfo, Dictionary<ulong, int> tgids, ICollection<KernelTaskInfo> sink, CancellationToken ct)
        {
            ulong signal = leader.GetUInt64("signal");
            if (signal == 0) return;
            ulong head = signal + _threadHeadOffset;
            ulong next = leader.GetUInt64("thread_node.next");
            ulong prev = leader.GetUInt64("thread_node.prev");
            if (next == head && prev == head) return; // the only thread
            var seen = new HashSet<ulong>();
            ulong node = await _context.ReadUInt64Async(head, "struct list_head (signal->thread_head)", ct).ConfigureAwait(false);
            while (node != head)
            {
                if (!seen.Add(node) || seen.Count > KernelListWalker.MaxEntries) throw new KernelListCycleException(head, node, seen.Count - 1);
                ulong address = node - _threadNodeOffset;
                (KernelTaskInfo info, KernelObject task) = await ReadTaskAsync(address, ct).ConfigureAwait(false);
                if (address != leaderInfo.Address)
                {
                    tgids[address] = info.Tgid;
                    info.ParentPid = await ParentPidAsync(info, tgids, ct).ConfigureAwait(false);
                    sink.Add(info);
                }
                node = task.GetUInt64("thread_node.next");
            }
        }

        /// <summary>The task each online CPU runs (the idle task swapper/N when idle), with <see cref="KernelTaskInfo.CurrentOnCpu"/> set.</summary>
        public async Task<IReadOnlyList<KernelTaskInfo>> CurrentAsync(CancellationToken ct)
        {
            ulong variable;
            ulong memberOffset = 0;
            if (_context.Types.FindVariable("pcpu_hot") is VariableType hot && _context.TryGetSymbolAddress("pcpu_hot", out variable))
                memberOffset = _context.FindField(hot.Type, "current_task").Offset;       // 6.2 and later
            else if (!_context.TryGetSymbolAddress("current_task", out variable))         // 6.1 and before
                throw new KernelSymbolNotFoundException("pcpu_hot", "Neither pcpu_hot (6.2+) nor current_task (6.1) is known: which CPU runs what cannot be told.");

            ulong[] offsets = await _context.GetPerCpuOffsetsAsync(ct).ConfigureAwait(false);
            ulong online = ulong.MaxValue;
            if (_context.TryGetSymbolAddress("__cpu_online_mask", out ulong mask))
                online = await _context.ReadUInt64Async(mask, "struct cpumask __cpu_online_mask", ct).ConfigureAwait(false);
            var result = new List<KernelTaskInfo>();
            for (int cpu = 0; cpu < offsets.Length; cpu++)
            {
                if (cpu < 64 && (online & (1UL << cpu)) == 0) continue;
                ulong current = await _context.ReadUInt64Async(variable + offsets[cpu] + memberOffset, "struct task_struct *current_task", ct).ConfigureAwait(false);
                KernelTaskInfo info = await ReadAsync(current, ct).ConfigureAwait(false);
                info.CurrentOnCpu = cpu;
                result.Add(info);
            }
            return result;
        }
    }
}
