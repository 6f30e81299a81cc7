// SPDX-License-Identifier: GPL-2.0
/*
 * Parking the other CPUs at a safe place before kgdb freezes them.
 *
 * Owns: one call_single_data per CPU, the park state, the rule of when a
 * parked CPU may go (from the IPI handler or from a breakpoint trap), the
 * trap gate, and the registers kgdb shows of a parked CPU's task.
 *
 * KGDB freezes the other CPUs with an NMI, wherever they are: inside a
 * spin_lock_irqsave() section, or queued on one. While stopped the
 * debugger CPU then runs the NIC driver, and a driver's receive path
 * allocates (e1000 copies every small frame into a new skb and refills
 * its ring from the page-fragment and page allocators; virtio-net
 * likewise). The allocators' locks (a kmem_cache_node's list_lock, taken
 * by every allocation under SLUB_TINY; SLOB's slob_lock in 6.1, taken by
 * every allocation; a zone's lock) are irq-safe spinlocks. A CPU frozen
 * holding one, or queued on one (qspinlock is fair: a waiter ahead of us
 * that never runs blocks us as surely as the holder), makes the debugger
 * CPU spin for good with every other CPU frozen: the whole kernel wedges.
 *
 * So before the roundup (pre_exception, debugger CPU, other CPUs still
 * running) every other CPU is sent an IPI whose handler spins until the
 * stop is over. A CPU that runs an IPI handler had interrupts on where it
 * was interrupted, so it holds no irq-safe lock and waits on none; frozen
 * by kgdb inside that handler, it blocks nothing the debugger needs. kgdb
 * does the same from the same context when an arch has no NMI roundup
 * (kgdb_roundup_cpus() in kernel/debug/debug_core.c).
 *
 * During a gdb single step ('s') kgdb releases the other CPUs on x86
 * (kgdb_single_step stays 0 for gdb; only kdb's "ss" sets it), and the
 * next stop would freeze them somewhere new, 2,000 times for 2,000
 * stepi. A CPU that ran meanwhile could also hit a breakpoint and, after
 * kgdb's sstep_tries, take the debugger over from the stepping CPU with
 * that CPU frozen mid-step. So parked CPUs stay parked through a step, as
 * with kdb's "ss": only the stepping CPU runs. A step that never comes
 * back (it went to user space, which kgdb resumes) lets them go after
 * KGDBOE_PARK_STEP_NS.
 *
 * A CPU spinning with interrupts off cannot take the IPI; after
 * KGDBOE_PARK_WAIT_US it is left to the roundup, and the stop logs it.
 *
 * What gdb sees of a parked CPU's task. kgdb gives gdb a running task's
 * registers as the roundup NMI found them (kgdb_info[cpu].debuggerinfo,
 * kernel/debug/gdbstub.c), which on a parked CPU is this IPI handler: a
 * task in the middle of `next` or `finish` seemed to have jumped into
 * park_fn(), and gdb, which then plants a breakpoint where the stepped
 * thread "advanced to" (keep_going_stepped_thread() in gdb's infrun.c),
 * planted it in park_fn(), where every parked CPU spins. The kernel went
 * wild within a few `next`s on a 4-CPU guest (2 of 2 runs: stops at pc 0).
 * kgdb's own IPI roundup avoids this by passing the interrupted registers
 * (get_irq_regs()); x86's is an NMI. So park_fn() finds its IPI's entry
 * registers (the unwinder's first full pt_regs), and two NMI handlers of
 * ours around kgdb's (first and last in the NMI_LOCAL chain, see
 * kgdboe_park_show_tasks()) show kgdb those registers in place of the
 * NMI's for the length of the roundup NMI, then put the NMI's back before
 * it returns.
 *
 * The stepping CPU itself never parks: an IPI left pending while it waited
 * in kgdb with interrupts off (it took a breakpoint during another CPU's
 * stop) arrives the moment a single step returns, and would hold the step
 * for up to KGDBOE_PARK_STEP_NS while the other CPUs are let go.
 *
 * A breakpoint hit while another CPU holds the debugger or single-steps
 * parks too, in the trap (kgdboe_park_trap(), from the die notifier
 * ahead of kgdb's), with the trap's registers shown. In stock KGDB such
 * a CPU waits in kgdb_cpu_enter() for the master lock and, each time it
 * gets the lock while a step is on its way, gives it back, at most
 * sstep_tries (100) times; then it takes the debugger from the stepping
 * CPU. Under QEMU's TCG a step's round trip outlasts 100 tries whenever
 * the host deschedules the stepping vCPU, and gdb, which resumed only
 * the stepped thread, then gets a stop from another one: gdb 13 fails
 * its own assertion (finish_step_over: trap_expected) and exits, the
 * kernel left stopped (1 of 7 runs of 30 `next` on 4 CPUs). Parked in
 * the trap, the CPU reaches kgdb only when the stop is over, as if it
 * had hit the breakpoint then. A step that does not come back within
 * KGDBOE_PARK_STEP_NS lets it go, so sstep_tries still guards against a
 * step that waits for this CPU.
 *
 * CPUs that trap at the same moment (a debug register is armed on every
 * CPU, and four writers pass a syscall's return at once) would all reach
 * kgdb_cpu_enter() before any of them is master, and wait there. So one
 * trapping CPU at a time goes on to kgdb (the trap gate, trap_gate_cpu);
 * the others park until its stop is over. Its owner gives the gate back
 * when its stop resumes; a trap kgdb lets go without a stop (a removed
 * breakpoint, kgdb_skipexception()) calls no hook of ours, so a gate is
 * also free once KGDBOE_TRAP_GATE_NS pass without a stop.
 *
 * Leaving, a parked CPU writes its debug registers back as the kernel
 * has them now (hw_breakpoint_restore()). kgdb's NMI came in on top of
 * this handler, and stock exc_nmi() puts back on its way out the DR7 it
 * found on entry: a hardware breakpoint or watchpoint removed during the
 * stop would stay armed in this CPU's DR7 with no perf event behind it
 * (its hits swallowed by hw_breakpoint_handler(), for good), and one added
 * would stay off. The lab kernel's patch fixes that in exc_nmi() itself;
 * this covers the CPUs we parked on kernels without it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kgdb.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched/task_stack.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <asm/debugreg.h>
#include <asm/nmi.h>
#include <asm/stacktrace.h>
#include <asm/unwind.h>

#include "kgdboe.h"

#define KGDBOE_PARK_WAIT_US	200000		/* per stop, all CPUs */
#define KGDBOE_PARK_STEP_NS	(500 * NSEC_PER_MSEC)
#define KGDBOE_TRAP_GATE_NS	(100 * NSEC_PER_MSEC)

/*
 * park_wanted: parked CPUs stay while set. park_until: while running
 * during a single step, the ktime_get_mono_fast_ns() after which they go
 * (0: no limit, the stop is on). Written by the debugger CPU only.
 */
static bool park_wanted;
static u64 park_until;

/* The CPU a single step released (-1: none); debugger CPU writes. */
static int park_stepper = -1;

/*
 * Set by a CPU while it is inside park_fn(). parked_regs: the registers
 * its IPI interrupted (NULL: unknown), set before parked. nmi_regs and
 * nmi_swapped: the roundup NMI's own registers while kgdb is shown
 * parked_regs. All four are this CPU's own, read by its own NMI only.
 */
static DEFINE_PER_CPU(bool, parked);
static DEFINE_PER_CPU(struct pt_regs *, parked_regs);
static DEFINE_PER_CPU(struct pt_regs, nmi_regs);
static DEFINE_PER_CPU(bool, nmi_swapped);
static DEFINE_PER_CPU(call_single_data_t, park_csd);

/* Stops where some CPU could not be parked; for the unload log line. */
static unsigned int park_misses;

/*
 * The trap gate: the CPU whose trap may go on to kgdb now (-1: none), and
 * when it took the gate (ktime_get_mono_fast_ns()). Taken by any trapping
 * CPU with a cmpxchg; given back by the debugger CPU when its stop resumes.
 */
static atomic_t trap_gate_cpu = ATOMIC_INIT(-1);
static u64 trap_gate_at;

/* Breakpoint traps parked (any CPU, atomic); for the unload log line. */
static atomic_t traps_parked = ATOMIC_INIT(0);

/* Stops a CPU other than the stepping one made during a step; debugger CPU. */
static unsigned int step_takeovers;

/* The CPUs the last stop could not park; debugger CPU only. */
static struct cpumask park_missing;

/*
 * The registers of the task this IPI interrupted: the IPI's entry frame
 * (the unwinder's first full pt_regs). If that interrupted code on the IRQ
 * stack (x86-64 runs softirqs there, with interrupts on), the interrupt
 * that ran it, when there is one: a frame further up that interrupted
 * kernel code on the task's own stack. gdb then sees where the task was,
 * as after the roundup NMI of a CPU that runs the task itself. A softirq
 * run by local_bh_enable() has no such frame and is shown as it is. NULL
 * outside a hard interrupt (the idle loop runs queued calls itself) or when
 * unknown.
 */
static struct pt_regs *interrupted_regs(void)
{
	struct pt_regs *regs, *first = NULL;
	struct unwind_state state;
	bool partial;

	if (!in_hardirq())
		return NULL;
	/* Without a first frame unwind_start() skips to the end of the stack. */
	for (unwind_start(&state, current, NULL, get_stack_pointer(current, NULL));
	     !unwind_done(&state); unwind_next_frame(&state)) {
		regs = unwind_get_entry_regs(&state, &partial);
		if (!regs)
			continue;
		if (partial)
			return first;
		if (user_mode(regs))
			return first ? first : regs;
		if (object_is_on_stack((void *)regs->sp))
			return regs;
		if (!first)
			first = regs;
	}
	return first;
}

/* The IPI handler: hard interrupt, interrupts off, on a CPU to park. */
static void park_fn(void *info)
{
	u64 until;

	if (READ_ONCE(park_stepper) == smp_processor_id())
		return;
	WRITE_ONCE(*this_cpu_ptr(&parked_regs), interrupted_regs());
	barrier();	/* parked_regs before parked, for this CPU's NMI */
	WRITE_ONCE(*this_cpu_ptr(&parked), true);
	while (READ_ONCE(park_wanted)) {
		until = READ_ONCE(park_until);
		if (until && ktime_get_mono_fast_ns() > until)
			break;
		cpu_relax();
	}
	WRITE_ONCE(*this_cpu_ptr(&parked), false);
	hw_breakpoint_restore();
}

/* True if this CPU's trap may go on to kgdb: the gate is its own now. */
static bool take_trap_gate(int me, u64 now)
{
	int owner = atomic_read(&trap_gate_cpu);

	if (owner == me)
		return true;
	if (owner != -1 && now - READ_ONCE(trap_gate_at) < KGDBOE_TRAP_GATE_NS)
		return false;
	/* The time first: a reader that sees the new owner sees a late time. */
	WRITE_ONCE(trap_gate_at, now);
	return atomic_cmpxchg(&trap_gate_cpu, owner, me) == owner;
}

/*
 * Die notifier (kgdboe_stale_stop.c), an int3 or #DB in kernel mode,
 * interrupts off, before kgdb's: a CPU that hits a breakpoint while
 * another CPU holds the debugger, single-steps or has the trap gate parks
 * here until that stop is over and the gate is its own, then goes on to
 * kgdb. @regs: the trap's registers, shown to gdb meanwhile (kgdb would
 * show the same in kgdb_cpu_enter()). @debug_trap: a #DB, whose handler
 * keeps DR7 itself.
 */
void kgdboe_park_trap(struct pt_regs *regs, bool debug_trap)
{
	int me = smp_processor_id();
	bool held = false, stop_on;
	u64 until, now;
	int active;

	if (READ_ONCE(park_stepper) == me || __this_cpu_read(parked))
		return;
	for (;;) {
		active = atomic_read(&kgdb_active);
		if (active == me)
			break;
		now = ktime_get_mono_fast_ns();
		if (READ_ONCE(park_wanted)) {
			until = READ_ONCE(park_until);
			stop_on = !until || now <= until;
		} else {
			stop_on = active != -1;
		}
		if (!stop_on && take_trap_gate(me, now))
			break;
		if (!held) {
			held = true;
			WRITE_ONCE(*this_cpu_ptr(&parked_regs), regs);
			barrier();	/* as in park_fn() */
			WRITE_ONCE(*this_cpu_ptr(&parked), true);
		}
		cpu_relax();
	}
	if (!held)
		return;
	WRITE_ONCE(*this_cpu_ptr(&parked), false);
	atomic_inc(&traps_parked);
	if (!debug_trap)
		hw_breakpoint_restore();
}

/* First NMI_LOCAL handler: on a parked CPU, show the interrupted task. */
static int park_nmi_enter(unsigned int type, struct pt_regs *regs)
{
	struct pt_regs *task_regs = __this_cpu_read(parked_regs);

	if (!__this_cpu_read(parked) || !task_regs)
		return NMI_DONE;
	*this_cpu_ptr(&nmi_regs) = *regs;
	*regs = *task_regs;
	__this_cpu_write(nmi_swapped, true);
	return NMI_DONE;
}

/* Last NMI_LOCAL handler: the NMI returns to where it came from. */
static int park_nmi_leave(unsigned int type, struct pt_regs *regs)
{
	if (!__this_cpu_read(nmi_swapped))
		return NMI_DONE;
	*regs = *this_cpu_ptr(&nmi_regs);
	__this_cpu_write(nmi_swapped, false);
	return NMI_DONE;
}

void kgdboe_park_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		INIT_CSD(per_cpu_ptr(&park_csd, cpu), park_fn, NULL);
}

/*
 * After kgdb_register_io_module(): kgdb adds its own NMI handler to the
 * tail of the NMI_LOCAL chain when its first I/O driver registers
 * (kgdb_register_callbacks() -> kgdb_arch_init()), and the one that puts
 * the NMI's registers back must come after it. That one goes in first:
 * a swap is never made that nobody undoes.
 */
int kgdboe_park_show_tasks(void)
{
	int err;

	err = register_nmi_handler(NMI_LOCAL, park_nmi_leave, 0,
				   "kgdboe_park_leave");
	if (err)
		return err;
	err = register_nmi_handler(NMI_LOCAL, park_nmi_enter, NMI_FLAG_FIRST,
				   "kgdboe_park_enter");
	if (err)
		unregister_nmi_handler(NMI_LOCAL, "kgdboe_park_leave");
	return err;
}

/*
 * pre_exception, after the NIC is ours: park every other online CPU, or
 * find it still parked from the step that led here.
 */
void kgdboe_park_others(void)
{
	int me = smp_processor_id();
	unsigned int waited, missing;
	int cpu, stepper = READ_ONCE(park_stepper);
	u64 until = READ_ONCE(park_until);

	/* kgdb's sstep_tries ran out on a CPU that was in kgdb already. */
	if (stepper != -1 && stepper != me && until &&
	    ktime_get_mono_fast_ns() <= until) {
		step_takeovers++;
		pr_warn("CPU %d stopped while CPU %d single-stepped: gdb may not expect this stop\n",
			me, stepper);
	}
	WRITE_ONCE(park_until, 0);
	WRITE_ONCE(park_wanted, true);
	smp_mb();	/* park_wanted before the IPIs and the reads of parked */
	for (waited = 0; ; waited++) {
		missing = 0;
		cpumask_clear(&park_missing);
		for_each_online_cpu(cpu) {
			if (cpu == me || READ_ONCE(per_cpu(parked, cpu)))
				continue;
			missing++;
			cpumask_set_cpu(cpu, &park_missing);
			/* -EBUSY while the last one is still queued: fine. */
			smp_call_function_single_async(cpu,
						       per_cpu_ptr(&park_csd, cpu));
		}
		if (!missing)
			return;
		if (waited == KGDBOE_PARK_WAIT_US)
			break;
		udelay(1);
	}
	park_misses++;
	pr_warn("%u CPU(s) did not take the park IPI (interrupts off?): CPU %*pbl; kgdb freezes them where they are\n",
		missing, cpumask_pr_args(&park_missing));
}

/*
 * post_exception: a resume lets the parked CPUs go; a single step keeps
 * them for at most KGDBOE_PARK_STEP_NS.
 */
void kgdboe_park_release(bool stepping)
{
	if (stepping) {
		WRITE_ONCE(park_stepper, smp_processor_id());
		WRITE_ONCE(park_until,
			   ktime_get_mono_fast_ns() + KGDBOE_PARK_STEP_NS);
		return;
	}
	WRITE_ONCE(park_stepper, -1);
	WRITE_ONCE(park_wanted, false);
	atomic_set(&trap_gate_cpu, -1);
}

/*
 * Process context, at unload, with kgdb no longer calling us: no IPI of
 * ours may still be queued or running when the module text goes away.
 */
void kgdboe_park_exit(void)
{
	call_single_data_t *csd;
	int cpu;

	WRITE_ONCE(park_wanted, false);
	unregister_nmi_handler(NMI_LOCAL, "kgdboe_park_enter");
	unregister_nmi_handler(NMI_LOCAL, "kgdboe_park_leave");
	for_each_possible_cpu(cpu) {
		csd = per_cpu_ptr(&park_csd, cpu);
		/* Pairs with csd_unlock()'s release in kernel/smp.c. */
		while (smp_load_acquire(&csd->node.u_flags) & CSD_FLAG_LOCK)
			cpu_relax();
	}
	/* An IPI handler runs with interrupts off: an RCU reader. */
	synchronize_rcu();
	if (park_misses)
		pr_info("%u stop(s) found a CPU that could not be parked\n",
			park_misses);
	if (atomic_read(&traps_parked))
		pr_info("%d breakpoint trap(s) parked for another CPU's stop or step\n",
			atomic_read(&traps_parked));
	if (step_takeovers)
		pr_info("%u stop(s) came from another CPU during a single step\n",
			step_takeovers);
}
