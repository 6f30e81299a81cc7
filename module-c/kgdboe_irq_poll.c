// SPDX-License-Identifier: GPL-2.0
/*
 * Running the NIC's interrupt handlers while stopped, in place of the
 * driver's netpoll hook.
 *
 * Owns: the rule that the stopped path never calls ndo_poll_controller,
 * and which of the NIC's irqactions it calls instead.
 *
 * Some drivers reap sent frames only in their interrupt handler (8139cp,
 * 8139too, e1000e with MSI-X), and their interrupts are off while stopped
 * (kgdboe_sync.c). Their netpoll hook runs the handler, but between a
 * disable_irq() and an enable_irq() of its own (8139cp, 8139too, pcnet32;
 * e1000 uses disable_hardirq()). disable_irq() ends in
 * __synchronize_hardirq(desc, true), which waits until the interrupt
 * controller no longer shows the IRQ in flight. With an IO-APIC and a
 * level-triggered line that is the pin's Remote IRR bit, set when a local
 * APIC accepts the interrupt and cleared only by that CPU's EOI. Our
 * disable_irq_nosync() is lazy (it does not mask the pin), so when the NIC
 * raises its line while stopped - for the completion of a frame we just
 * sent - the IO-APIC still delivers it, to whichever CPU the IRQ's
 * affinity names. That CPU has interrupts off (the debugger CPU itself, or
 * one parked or frozen by kgdb) and never sends the EOI while the kernel
 * is stopped: the hook's disable_irq() spins for good. Seen on 6.12 with
 * QEMU's RTL8139C+ (8139cp): the debugger CPU in __synchronize_hardirq
 * under cp_poll_controller, vector 34 pending (IRR) in its own local APIC,
 * Remote IRR set on IO-APIC pin 11.
 *
 * So the hooks are never called while stopped. What they do between their
 * disable and enable is run the handlers of the device's IRQs, which we
 * can do directly: the lines are already disabled and no handler is
 * running (kgdboe_sync_irqs_quiet() checks that, without a lock). No lock
 * of the IRQ core is taken; the handler takes the driver's own lock, which
 * its transmit path (already called while stopped) takes too.
 *
 * Context: stopped (debugger CPU, NMI context, interrupts off).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/netdevice.h>

#include "kgdboe.h"

/*
 * One IRQ's handlers: those registered for this netdev, or, on a line of
 * its own (an MSI or MSI-X vector), its one handler whatever its dev_id
 * (vmxnet3 registers its queues). Handlers that only wake a thread are
 * skipped: no thread runs while stopped.
 */
static void run_handlers(struct net_device *dev, unsigned int irq)
{
	struct irq_data *data = irq_get_irq_data(irq);
	struct irqaction *action, *first;
	bool shared;

	if (!data)
		return;
	first = READ_ONCE(irq_data_to_desc(data)->action);
	shared = first && first->next;
	for (action = first; action; action = action->next) {
		if (shared && action->dev_id != dev)
			continue;
		if (action->thread_fn)
			continue;
		action->handler(irq, action->dev_id);
	}
}

/* Only a driver with a netpoll hook says its handler may run this way. */
static bool has_hook(struct net_device *dev)
{
#ifdef CONFIG_NET_POLL_CONTROLLER
	return dev->netdev_ops->ndo_poll_controller;
#else
	return false;
#endif
}

/* Stopped only: what the driver's netpoll hook would do, without its locks. */
void kgdboe_irq_poll(struct net_device *dev)
{
	unsigned int i, nr = kgdboe_sync_nr_irqs();

	if (!has_hook(dev) || !netif_running(dev) ||
	    !kgdboe_sync_irqs_quiet())
		return;
	for (i = 0; i < nr; i++)
		run_handlers(dev, kgdboe_sync_irq(i));
}
