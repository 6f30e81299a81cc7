// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping the other CPUs out of the NIC driver while stopped.
 *
 * Owns: the NIC's owner module reference, its IRQ list, and the exclusion of
 * the driver's transmit path, IRQ handlers and NAPI polls.
 *
 * KGDB freezes the other CPUs with an NMI wherever they are. If one of them
 * is frozen inside the NIC driver, the debugger CPU must not enter the same
 * driver code. So before the roundup (pre_exception, debugger CPU, NMI
 * context, other CPUs still running) we make sure none of them is inside:
 *
 *   transmit  - each TX queue is marked FROZEN under its _xmit_lock, as
 *               netif_tx_lock() does. Whoever takes the lock afterwards sees
 *               the mark and leaves without calling the driver, so a CPU
 *               frozen holding that lock is never inside ndo_start_xmit.
 *   IRQs      - disable_irq_nosync() and a spin until no handler runs
 *               (synchronize_hardirq() without taking the descriptor lock).
 *   NAPI      - we take each NAPI's poll_owner the way netpoll does; with
 *               netpoll set up, every NAPI poll in the kernel takes it first.
 *
 * Each wait is bounded: if the debugger CPU itself holds what we wait for
 * (a breakpoint inside the driver), we log it and go on without it.
 * NAPIs are released in post_exception; IRQs and TX queues only once the
 * other CPUs run again (see thaw_owed).
 *
 * Driver timers and work items are not excluded: there is no exported way
 * to find them. They do not touch the rings the stopped path uses.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/irqdesc.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "kgdboe.h"

#define KGDBOE_MAX_IRQS		32
#define KGDBOE_WAIT_US		200000	/* per resource, in pre_exception */

/* Written at load (process context), read-only afterwards. */
static struct module *owner;		/* NULL: built in or unknown */
static const char *driver_name = "unknown";
static unsigned int irqs[KGDBOE_MAX_IRQS];
static unsigned int nr_irqs_used;

/*
 * Which TX queues we marked FROZEN at this stop (a bit we did not set
 * belongs to someone else's netif_tx_lock and is left alone). Only touched
 * on the debugger CPU while stopped.
 */
static unsigned long *txq_frozen_by_us;
static unsigned int nr_txq_bits;

/*
 * IRQs and TX queues are let go after the other CPUs run again, from an
 * irq_work: while they are frozen one of them may hold an IRQ descriptor
 * lock (frozen in the IRQ flow handler) or a TX lock, which enable_irq()
 * and our next freeze would spin on. thaw_owed is 1 while a stop is over
 * but its thaw has not run; a stop that begins then (after a single step,
 * when the other CPUs never ran) keeps the freeze it finds. thaw_lock orders the
 * irq_work (hardirq) against pre_exception (NMI, trylock only).
 */
static atomic_t thaw_owed = ATOMIC_INIT(0);
static DEFINE_RAW_SPINLOCK(thaw_lock);
static void thaw_fn(struct irq_work *work);
static struct irq_work thaw_work = IRQ_WORK_INIT(thaw_fn);

static void find_irqs(struct device *parent)
{
	struct pci_dev *pdev;
	unsigned int i, j;
	int irq;

	while (parent && !dev_is_pci(parent))
		parent = parent->parent;
	if (!parent)
		return;
	pdev = to_pci_dev(parent);

	/* pci_irq_vector() covers MSI-X, MSI and the legacy INTx line. */
	for (i = 0; i < KGDBOE_MAX_IRQS; i++) {
		irq = pci_irq_vector(pdev, i);
		if (irq <= 0)
			break;
		if (!irq_has_action(irq))
			continue;
		for (j = 0; j < nr_irqs_used && irqs[j] != irq; j++)
			;
		if (j == nr_irqs_used)
			irqs[nr_irqs_used++] = irq;
	}
}

int kgdboe_sync_init(struct net_device *dev)
{
	struct device *parent = dev->dev.parent;

	if (parent && parent->driver) {
		driver_name = parent->driver->name;
		owner = parent->driver->owner;
	}
	/* Keep the driver loaded as long as we may call into it. */
	if (owner && !try_module_get(owner)) {
		pr_err("driver module %s of %s is going away\n",
		       module_name(owner), dev->name);
		return -ENODEV;
	}

	find_irqs(parent);
	if (!nr_irqs_used)
		pr_warn("no IRQ found for %s: its interrupts stay on while stopped\n",
			dev->name);

	nr_txq_bits = dev->num_tx_queues;
	txq_frozen_by_us = bitmap_zalloc(nr_txq_bits, GFP_KERNEL);
	if (!txq_frozen_by_us) {
		module_put(owner);
		return -ENOMEM;
	}
	return 0;
}

void kgdboe_sync_exit(void)
{
	irq_work_sync(&thaw_work);
	bitmap_free(txq_frozen_by_us);
	txq_frozen_by_us = NULL;
	module_put(owner);
	owner = NULL;
	nr_irqs_used = 0;
}

const char *kgdboe_sync_owner(void)
{
	return owner ? module_name(owner) : "builtin";
}

const char *kgdboe_sync_driver(void)
{
	return driver_name;
}

/* "11" or "24,25,26" or "none", for the load-time log lines. */
int kgdboe_sync_irq_list(char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;

	if (!nr_irqs_used)
		return scnprintf(buf, size, "none");
	for (i = 0; i < nr_irqs_used; i++)
		len += scnprintf(buf + len, size - len, "%s%u",
				 i ? "," : "", irqs[i]);
	return len;
}

/* The NIC's IRQs (for kgdboe_irq_poll.c); fixed after load. */
unsigned int kgdboe_sync_nr_irqs(void)
{
	return nr_irqs_used;
}

unsigned int kgdboe_sync_irq(unsigned int i)
{
	return i < nr_irqs_used ? irqs[i] : 0;
}

bool kgdboe_sync_txq_frozen(unsigned int index)
{
	return index < nr_txq_bits && test_bit(index, txq_frozen_by_us);
}

static void freeze_txqs(struct net_device *dev)
{
	int cpu = smp_processor_id();
	struct netdev_queue *txq;
	unsigned int i, waited;

	for (i = 0; i < dev->num_tx_queues && i < nr_txq_bits; i++) {
		txq = netdev_get_tx_queue(dev, i);
		if (READ_ONCE(txq->xmit_lock_owner) == cpu) {
			pr_warn("stopped inside TX queue %u of %s\n", i,
				dev->name);
			continue;
		}
		for (waited = 0; !__netif_tx_trylock(txq); waited++) {
			if (waited == KGDBOE_WAIT_US) {
				pr_warn("TX queue %u of %s stayed busy\n", i,
					dev->name);
				break;
			}
			udelay(1);
		}
		if (waited == KGDBOE_WAIT_US)
			continue;
		if (!test_and_set_bit(__QUEUE_STATE_FROZEN, &txq->state))
			__set_bit(i, txq_frozen_by_us);
		__netif_tx_unlock(txq);
	}
}

static void thaw_txqs(struct net_device *dev)
{
	struct netdev_queue *txq;
	unsigned int i;

	for_each_set_bit(i, txq_frozen_by_us, nr_txq_bits) {
		txq = netdev_get_tx_queue(dev, i);
		clear_bit(__QUEUE_STATE_FROZEN, &txq->state);
		__clear_bit(i, txq_frozen_by_us);
		/* Packets requeued meanwhile go out from NET_TX softirq. */
		netif_schedule_queue(txq);
	}
}

static void disable_irqs(void)
{
	struct irq_data *data;
	unsigned int i, waited;

	for (i = 0; i < nr_irqs_used; i++)
		disable_irq_nosync(irqs[i]);

	/* Wait for handlers already running on other CPUs; never sleep. */
	for (i = 0; i < nr_irqs_used; i++) {
		data = irq_get_irq_data(irqs[i]);
		for (waited = 0; data && irqd_irq_inprogress(data); waited++) {
			if (waited == KGDBOE_WAIT_US) {
				pr_warn("IRQ %u handler still running\n",
					irqs[i]);
				break;
			}
			udelay(1);
		}
	}
}

static void enable_irqs(void)
{
	unsigned int i;

	for (i = 0; i < nr_irqs_used; i++)
		enable_irq(irqs[i]);
}

static void own_napis(struct net_device *dev)
{
	int cpu = smp_processor_id();
	struct napi_struct *napi;
	unsigned int waited;

	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (READ_ONCE(napi->poll_owner) == cpu) {
			pr_warn("stopped inside a NAPI poll of %s\n",
				dev->name);
			continue;
		}
		for (waited = 0;
		     cmpxchg(&napi->poll_owner, -1, KGDBOE_POLL_OWNER) != -1;
		     waited++) {
			if (waited == KGDBOE_WAIT_US) {
				pr_warn("a NAPI poll of %s did not finish\n",
					dev->name);
				break;
			}
			udelay(1);
		}
	}
}

static void release_napis(struct net_device *dev)
{
	struct napi_struct *napi;

	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (READ_ONCE(napi->poll_owner) != KGDBOE_POLL_OWNER)
			continue;
		/* Pairs with the cmpxchg in netpoll_poll_lock(). */
		smp_store_release(&napi->poll_owner, -1);
		/*
		 * Our polls ran in netpoll mode, where napi_complete_done()
		 * does nothing, so a driver may have left its interrupt off
		 * (virtio-net disables the queue callback). One normal poll
		 * in softirq completes properly and rearms it. Threaded NAPI
		 * would need a wakeup, which is not NMI-safe: left alone.
		 */
		if (!test_bit(NAPI_STATE_THREADED, &napi->state))
			napi_schedule(napi);
	}
}

/*
 * True if calling into the driver's IRQ handler is safe now: no IRQ
 * descriptor lock held and no handler running (both would be on a frozen
 * CPU). A probe, not an assertion. Stopped only.
 */
bool kgdboe_sync_irqs_quiet(void)
{
	struct irq_data *data;
	unsigned int i;

	for (i = 0; i < nr_irqs_used; i++) {
		data = irq_get_irq_data(irqs[i]);
		if (data && (irqd_irq_inprogress(data) ||
			     raw_spin_is_locked(&irq_data_to_desc(data)->lock)))
			return false;
	}
	return true;
}

static void thaw_fn(struct irq_work *work)
{
	raw_spin_lock(&thaw_lock);
	if (atomic_xchg(&thaw_owed, 0)) {
		thaw_txqs(kgdboe_cfg.dev);
		enable_irqs();
	}
	raw_spin_unlock(&thaw_lock);
}

/* pre_exception: stopped, before the roundup. */
void kgdboe_sync_freeze(void)
{
	struct net_device *dev = kgdboe_cfg.dev;
	unsigned int waited;

	for (waited = 0; !raw_spin_trylock(&thaw_lock); waited++) {
		if (waited == KGDBOE_WAIT_US)
			break;
		udelay(1);
	}
	/* Still frozen from the last stop: keep it, cancel its thaw. */
	if (!atomic_xchg(&thaw_owed, 0)) {
		disable_irqs();
		freeze_txqs(dev);
	}
	if (waited < KGDBOE_WAIT_US)
		raw_spin_unlock(&thaw_lock);
	own_napis(dev);
}

/*
 * post_exception: stopped, before the other CPUs are released. For a
 * single step keep IRQs and TX queues frozen: the step's stop follows at
 * once and keeps the freeze it finds. On x86 kgdb releases the other CPUs
 * for a gdb 's' (kgdb_single_step stays 0), but they stay parked in
 * kgdboe_park.c's IPI handler through the step; one that leaves (a step
 * that never comes back) finds a frozen TX queue and backs off, and the
 * NIC's IRQ waits for the next thaw.
 */
void kgdboe_sync_thaw(bool stepping)
{
	release_napis(kgdboe_cfg.dev);
	atomic_set(&thaw_owed, 1);
	if (!stepping)
		irq_work_queue(&thaw_work);
}
