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

/* Why remove_cpu() says no, in words (kernel/cpu.c, include/linux/cpu.h). */
static const char *refusal(int err)
{
	switch (err) {
	case -EBUSY:
		return "CPU hotplug is disabled for now, by another driver or the kernel";
	case -EPERM:
		return "this kernel cannot take CPUs offline (no CONFIG_HOTPLUG_CPU)";
	case -EOPNOTSUPP:
		return "CPU hotplug is not supported here";
	default:
		return "see the kernel log above";
	}
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
	if (cpumask_empty(&others))
		pr_info("force_single_core: CPU 0 is the only CPU online; there is no CPU to take offline\n");
	for_each_cpu(cpu, &others) {
		err = remove_cpu(cpu);
		if (err) {
			pr_err("force_single_core: the kernel refused to take CPU %u offline (%d: %s); every CPU stays online and kgdboe does not load\n",
			       cpu, err, refusal(err));
			cpu_hotplug_disable();	/* balanced by _leave() */
			kgdboe_single_core_leave();
			return err;
		}
		cpumask_set_cpu(cpu, &offlined);
	}
	cpu_hotplug_disable();
	return 0;
}
