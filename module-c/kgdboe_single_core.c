// SPDX-License-Identifier: GPL-2.0
/*
 * Safety mode (force_single_core=1).
 *
 * Owns: the CPUs we took offline. With only CPU 0 online no other CPU can
 * be frozen inside the NIC driver, whatever the driver does. CPU hotplug
 * stays disabled while we hold the CPUs, so nobody brings them back under
 * us. Process context only (remove_cpu/add_cpu sleep): load and unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>

#include "kgdboe.h"

/* CPUs we took offline; load/unload only, serialised by the module loader. */
static struct cpumask offlined;

void kgdboe_single_core_leave(void)
{
	unsigned int cpu;
	int err;

	cpu_hotplug_enable();
	for_each_cpu(cpu, &offlined) {
		err = add_cpu(cpu);
		if (err)
			pr_warn("cannot bring CPU %u back online: %d\n", cpu,
				err);
	}
	cpumask_clear(&offlined);
}

int kgdboe_single_core_enter(void)
{
	struct cpumask others;
	unsigned int cpu;
	int err;

	if (!cpu_online(0)) {
		pr_err("force_single_core needs CPU 0 online\n");
		return -EINVAL;
	}
	cpumask_copy(&others, cpu_online_mask);
	cpumask_clear_cpu(0, &others);
	for_each_cpu(cpu, &others) {
		err = remove_cpu(cpu);
		if (err) {
			pr_err("force_single_core: cannot take CPU %u offline: %d\n",
			       cpu, err);
			cpu_hotplug_disable();	/* balanced by _leave() */
			kgdboe_single_core_leave();
			return err;
		}
		cpumask_set_cpu(cpu, &offlined);
	}
	cpu_hotplug_disable();
	return 0;
}
