// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for kgdboe (issue 14): one kthread per online CPU, pinned,
 * allocating and freeing skbs and kmalloc buffers in a loop. With the lab
 * kernels' allocators (SLUB_TINY in 6.12, SLOB in 6.1) every allocation
 * takes an allocator lock with interrupts off, so a CPU frozen by kgdb's
 * NMI roundup is often inside one: what a debugger stop must survive.
 */
#include <linux/cpu.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

static struct task_struct *threads[NR_CPUS];

static int storm_fn(void *unused)
{
	struct sk_buff *skb;
	void *p;

	while (!kthread_should_stop()) {
		p = kmalloc(1000, GFP_KERNEL);
		skb = alloc_skb(1200, GFP_KERNEL);
		kfree_skb(skb);
		kfree(p);
		cond_resched();
	}
	return 0;
}

static int __init storm_init(void)
{
	int cpu;

	for_each_online_cpu(cpu) {
		threads[cpu] = kthread_create_on_cpu(storm_fn, NULL, cpu,
						     "allocstorm/%u");
		if (IS_ERR(threads[cpu])) {
			threads[cpu] = NULL;
			continue;
		}
		sched_set_normal(threads[cpu], 19);
		wake_up_process(threads[cpu]);
	}
	return 0;
}

static void __exit storm_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (threads[cpu])
			kthread_stop(threads[cpu]);
}

module_init(storm_init);
module_exit(storm_exit);
MODULE_DESCRIPTION("kgdboe test helper: allocate and free in a loop on every CPU");
MODULE_LICENSE("GPL");
