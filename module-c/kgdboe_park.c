// SPDX-License-Identifier: GPL-2.0
/*
 * Parking the other CPUs at a safe place before kgdb freezes them.
 *
 * Owns: one call_single_data per CPU, the park state, and the rule of
 * when a parked CPU may go.
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
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <asm/debugreg.h>

#include "kgdboe.h"

#define KGDBOE_PARK_WAIT_US	200000		/* per stop, all CPUs */
#define KGDBOE_PARK_STEP_NS	(500 * NSEC_PER_MSEC)

/*
 * park_wanted: parked CPUs stay while set. park_until: while running
 * during a single step, the ktime_get_mono_fast_ns() after which they go
 * (0: no limit, the stop is on). Written by the debugger CPU only.
 */
static bool park_wanted;
static u64 park_until;

/* Set by a CPU while it is inside park_fn(). */
static DEFINE_PER_CPU(bool, parked);
static DEFINE_PER_CPU(call_single_data_t, park_csd);

/* Stops where some CPU could not be parked; for the unload log line. */
static unsigned int park_misses;

/* The CPUs the last stop could not park; debugger CPU only. */
static struct cpumask park_missing;

/* The IPI handler: hard interrupt, interrupts off, on a CPU to park. */
static void park_fn(void *info)
{
	u64 until;

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

void kgdboe_park_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		INIT_CSD(per_cpu_ptr(&park_csd, cpu), park_fn, NULL);
}

/*
 * pre_exception, after the NIC is ours: park every other online CPU, or
 * find it still parked from the step that led here.
 */
void kgdboe_park_others(void)
{
	int me = smp_processor_id();
	unsigned int waited, missing;
	int cpu;

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
		WRITE_ONCE(park_until,
			   ktime_get_mono_fast_ns() + KGDBOE_PARK_STEP_NS);
		return;
	}
	WRITE_ONCE(park_wanted, false);
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
}
