// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for kgdboe (issue 14): a kthread pinned to one CPU spins
 * with interrupts off for a while, as a driver stuck in an irq-off section
 * would. A debugger break-in meanwhile cannot park that CPU with an IPI
 * (kgdboe_park.c); only kgdb's NMI roundup reaches it.
 *
 * Parameters: cpu (default 1), seconds (default 30; 0: no spinner). The
 * thread logs "irqspin: spinning on CPU n" once interrupts are off and
 * "irqspin: done after n ms" when it turns them back on.
 *
 * block_hotplug=1 also holds CPU hotplug disabled while loaded, as a driver
 * in the middle of something would: kgdboe's safety mode then cannot take
 * CPUs offline and must say so.
 */
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>

static int cpu = 1;
module_param(cpu, int, 0444);
MODULE_PARM_DESC(cpu, "CPU to spin on (default 1)");

static int seconds = 30;
module_param(seconds, int, 0444);
MODULE_PARM_DESC(seconds, "How long interrupts stay off (default 30)");

static int delay_ms;
module_param(delay_ms, int, 0444);
MODULE_PARM_DESC(delay_ms, "Wait this long before turning interrupts off (default 0)");

static bool block_hotplug;
module_param(block_hotplug, bool, 0444);
MODULE_PARM_DESC(block_hotplug, "Keep CPU hotplug disabled while loaded (default off)");

static struct task_struct *spinner;
static DECLARE_COMPLETION(spun);

static int spin_fn(void *unused)
{
	u64 start, end;
	unsigned long flags;

	/* Lets the loader's SSH session end first: its exit would wait for us. */
	if (delay_ms > 0)
		msleep(delay_ms);
	local_irq_save(flags);
	start = ktime_get_mono_fast_ns();
	end = start + (u64)seconds * NSEC_PER_SEC;
	pr_info("irqspin: spinning on CPU %d for %d s with interrupts off\n",
		smp_processor_id(), seconds);
	while (ktime_get_mono_fast_ns() < end)
		cpu_relax();
	local_irq_restore(flags);
	pr_info("irqspin: done after %llu ms\n",
		(ktime_get_mono_fast_ns() - start) / NSEC_PER_MSEC);
	complete(&spun);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ);
	return 0;
}

static int __init irqspin_init(void)
{
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_online(cpu) ||
	    seconds < 0 || seconds > 600)
		return -EINVAL;
	if (block_hotplug) {
		cpu_hotplug_disable();
		pr_info("irqspin: CPU hotplug disabled until unload\n");
	}
	if (!seconds)
		return 0;
	spinner = kthread_create_on_cpu(spin_fn, NULL, cpu, "irqspin/%u");
	if (IS_ERR(spinner)) {
		if (block_hotplug)
			cpu_hotplug_enable();
		return PTR_ERR(spinner);
	}
	wake_up_process(spinner);
	return 0;
}

static void __exit irqspin_exit(void)
{
	if (spinner) {
		wait_for_completion(&spun);
		kthread_stop(spinner);
	}
	if (block_hotplug)
		cpu_hotplug_enable();
}

module_init(irqspin_init);
module_exit(irqspin_exit);
MODULE_DESCRIPTION("kgdboe test helper: spin on one CPU with interrupts off");
MODULE_LICENSE("GPL");
