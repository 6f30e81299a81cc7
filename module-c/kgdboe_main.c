// SPDX-License-Identifier: GPL-2.0
/*
 * KGDB over Ethernet: parameters, load/unload, the kgdb I/O callbacks.
 *
 * Owns: the module parameters and their checks, the netpoll instance that
 * holds the device, the order of setup and teardown, and the kgdb_io
 * callbacks (which run stopped: debugger CPU, NMI context, interrupts off).
 *
 * Load and unload run in process context. A debugger session pins the
 * module from its first stop until gdb detaches, so rmmod refuses while
 * gdb is attached instead of reaching kgdb_unregister_io_module's BUG_ON.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/if_arp.h>
#include <linux/inet.h>
#include <linux/inetdevice.h>
#include <linux/kgdb.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/netpoll.h>
#include <linux/rtnetlink.h>
#include <net/ip_fib.h>

#include "kgdboe.h"

static char *device_name;
module_param(device_name, charp, 0444);
MODULE_PARM_DESC(device_name,
		 "Network device (default: that of the default route, else the first up non-loopback one)");

static int udp_port = 31337;
module_param(udp_port, int, 0444);
MODULE_PARM_DESC(udp_port, "UDP port to listen on (default 31337)");

static char *local_ip;
module_param(local_ip, charp, 0444);
MODULE_PARM_DESC(local_ip, "IPv4 address to answer on (default: the device's)");

static char *peer_ip;
module_param(peer_ip, charp, 0444);
MODULE_PARM_DESC(peer_ip, "Only this IPv4 host may attach (default: any)");

static bool force_single_core;
module_param(force_single_core, bool, 0444);
MODULE_PARM_DESC(force_single_core,
		 "Safety mode: take all CPUs but 0 offline while loaded (default off)");

struct kgdboe_config kgdboe_cfg;

/* Holds the device and makes every NAPI poll take poll_owner. */
static struct netpoll kgdboe_np = {
	.name = KBUILD_MODNAME,
};

/* Module reference held for an attached debugger; stopped CPU only. */
static bool session_pinned;

/* Was a debugger attached when this stop began? Stopped CPU only. */
static bool stop_was_connected;

/* CPUs whose lockdep we paused during this stop; stopped path only. */
static struct cpumask lockdep_paused;

/*
 * While stopped we are in NMI context (x86 enters kgdb from int3/#DB
 * through nmi_enter), and lockdep reports every lock taken there that was
 * ever taken elsewhere: every lock of the NIC driver, of the IRQ core, and
 * of the kgdb core itself (text_poke() planting breakpoints). Its cross-CPU
 * model does not hold while the other CPUs are frozen, so from
 * pre_exception to post_exception we raise lockdep's own per-CPU recursion
 * count, which makes it look away on this CPU only. In NMI context lockdep
 * already skips lock tracking (nmi_enter() calls lockdep_off()); this only
 * silences its IN-NMI usage check. Every CPU that does I/O during the stop
 * is paused (kgdboe_net.c's io_here(): kdb's btc has each frozen CPU print
 * its own stack, and a kdb "cpu" switch can end the stop on another CPU).
 */
void kgdboe_lockdep_pause_here(void)
{
#ifdef CONFIG_LOCKDEP
	int cpu = raw_smp_processor_id();

	if (!cpumask_test_and_set_cpu(cpu, &lockdep_paused))
		per_cpu(lockdep_recursion, cpu)++;
#endif
}

static void lockdep_resume(void)
{
#ifdef CONFIG_LOCKDEP
	int cpu;

	for_each_cpu(cpu, &lockdep_paused)
		per_cpu(lockdep_recursion, cpu)--;
	cpumask_clear(&lockdep_paused);
#endif
}

static int parse_ip(const char *name, const char *text, __be32 *addr)
{
	const char *end;

	if (!in4_pton(text, -1, (u8 *)addr, -1, &end) || *end ||
	    ipv4_is_zeronet(*addr) || ipv4_is_multicast(*addr) ||
	    ipv4_is_lbcast(*addr) || ipv4_is_loopback(*addr)) {
		pr_err("%s=%s is not a unicast IPv4 address\n", name, text);
		return -EINVAL;
	}
	return 0;
}

/* The device of the default route, else the first up Ethernet device. */
static int pick_default_device(char *name)
{
	struct flowi4 fl4 = {};
	struct fib_result res;
	struct net_device *dev = NULL;

	rcu_read_lock();
	if (!fib_lookup(&init_net, &fl4, &res, 0))
		dev = FIB_RES_DEV(res);
	if (!dev || (dev->flags & IFF_LOOPBACK)) {
		dev = NULL;
		for_each_netdev_rcu(&init_net, dev)
			if ((dev->flags & IFF_UP) &&
			    !(dev->flags & IFF_LOOPBACK) &&
			    dev->type == ARPHRD_ETHER)
				break;
		/* Off the end of the list: no candidate. */
		if (&dev->dev_list == &init_net.dev_base_head)
			dev = NULL;
	}
	if (dev)
		strscpy(name, dev->name, IFNAMSIZ);
	rcu_read_unlock();

	if (!dev) {
		pr_err("no network device to use: set device_name\n");
		return -ENODEV;
	}
	return 0;
}

static int check_device(const char *name)
{
	struct net_device *dev;
	int err = 0;

	if (strlen(name) >= IFNAMSIZ) {
		pr_err("device_name=%s is too long\n", name);
		return -EINVAL;
	}
	rtnl_lock();
	dev = __dev_get_by_name(&init_net, name);
	if (!dev) {
		pr_err("device_name=%s: no such network device\n", name);
		err = -ENODEV;
	} else if (dev->flags & IFF_LOOPBACK) {
		pr_err("device_name=%s is a loopback device\n", name);
		err = -EINVAL;
	} else if (dev->type != ARPHRD_ETHER) {
		pr_err("device_name=%s is not an Ethernet device\n", name);
		err = -EINVAL;
	}
	rtnl_unlock();
	return err;
}

static bool ip_on_device(struct net_device *dev, __be32 addr)
{
	const struct in_ifaddr *ifa;
	struct in_device *in_dev;
	bool found = false;

	rtnl_lock();
	in_dev = __in_dev_get_rtnl(dev);
	if (in_dev)
		in_dev_for_each_ifa_rtnl(ifa, in_dev)
			if (ifa->ifa_local == addr)
				found = true;
	rtnl_unlock();
	return found;
}

/* read_char, write_char and flush run between pre_ and post_exception. */
static int kgdboe_read_char(void)
{
	return kgdboe_net_read_char();
}

static void kgdboe_write_char(u8 c)
{
	kgdboe_net_write_char(c);
}

static void kgdboe_flush(void)
{
	kgdboe_net_flush_io();
}

/* Before the other CPUs are rounded up. */
static void kgdboe_pre_exception(void)
{
	kgdboe_lockdep_pause_here();
	/* Like kgdboc: the module stays until the debugger detaches. */
	if (!session_pinned)
		session_pinned = try_module_get(THIS_MODULE);
	stop_was_connected = kgdb_connected;
	kgdboe_sync_freeze();
	/* After the freeze: parked CPUs must not hold the NIC either. */
	kgdboe_park_others();
	kgdboe_net_enter();
	kgdboe_stale_stop_enter();
}

/* Before the other CPUs are released. */
static void kgdboe_post_exception(void)
{
	bool stepping = kgdboe_net_stepping();

	kgdboe_stale_stop_leave(stop_was_connected);
	kgdboe_net_leave(!kgdb_connected);
	kgdboe_sync_thaw(stepping);
	kgdboe_park_release(stepping);
	if (!kgdb_connected && session_pinned) {
		session_pinned = false;
		module_put(THIS_MODULE);
	}
	lockdep_resume();
}

static struct kgdb_io kgdboe_io_ops = {
	.name = KBUILD_MODNAME,
	.read_char = kgdboe_read_char,
	.write_char = kgdboe_write_char,
	.flush = kgdboe_flush,
	.pre_exception = kgdboe_pre_exception,
	.post_exception = kgdboe_post_exception,
};

static int check_params(void)
{
	int err;

	if (udp_port < 1 || udp_port > 65535) {
		pr_err("udp_port=%d is out of range (1-65535)\n", udp_port);
		return -EINVAL;
	}
	kgdboe_cfg.port = udp_port;
	if (local_ip) {
		err = parse_ip("local_ip", local_ip, &kgdboe_cfg.local_ip);
		if (err)
			return err;
	}
	if (peer_ip) {
		err = parse_ip("peer_ip", peer_ip, &kgdboe_cfg.peer_ip);
		if (err)
			return err;
	}
	if (device_name && *device_name)
		return check_device(device_name);
	return 0;
}

static int setup_netpoll(void)
{
	int err;

	if (device_name && *device_name)
		strscpy(kgdboe_np.dev_name, device_name, IFNAMSIZ);
	else if (pick_default_device(kgdboe_np.dev_name))
		return -ENODEV;

	kgdboe_np.local_ip.ip = kgdboe_cfg.local_ip;
	kgdboe_np.local_port = kgdboe_cfg.port;
	kgdboe_np.remote_port = kgdboe_cfg.port;
	err = netpoll_setup(&kgdboe_np);
	if (err) {
		pr_err("netpoll setup on %s failed: %d\n", kgdboe_np.dev_name,
		       err);
		return err;
	}
	kgdboe_cfg.dev = kgdboe_np.dev;
	kgdboe_cfg.local_ip = kgdboe_np.local_ip.ip;
	kgdboe_cfg.local_ip_foreign = !ip_on_device(kgdboe_cfg.dev,
						    kgdboe_cfg.local_ip);
	return 0;
}

static void log_ready(void)
{
	struct net_device *dev = kgdboe_cfg.dev;
	const char *mode = force_single_core ? "single-core" : "multi-core";
	char irqs[128];

	kgdboe_sync_irq_list(irqs, sizeof(irqs));
	pr_info("%s: driver %s, owner module %s\n", dev->name,
		kgdboe_sync_driver(), kgdboe_sync_owner());
	pr_info("IRQs disabled while stopped: %s\n", irqs);
	pr_info("TX queues frozen while stopped: %u\n", dev->num_tx_queues);
	if (force_single_core)
		pr_info("mode: single-core (CPUs other than 0 are offline until unload)\n");
	else
		pr_info("mode: multi-core (other CPUs stay out of %s while stopped)\n",
			dev->name);
	if (kgdboe_cfg.local_ip_foreign)
		pr_info("%pI4 is not an address of %s: kgdboe answers ARP for it\n",
			&kgdboe_cfg.local_ip, dev->name);
	if (kgdboe_cfg.peer_ip)
		pr_info("only %pI4 may attach\n", &kgdboe_cfg.peer_ip);
	if (kgdboe_wire_keyed()) {
		pr_info("keyed: only the v2 wire (Connect-KernelTarget with the key); stock gdb through the KgdbOe bridge\n");
	} else {
		kgdboe_session_log_mode();
		pr_info("attach with: target remote udp:%pI4:%u\n",
			&kgdboe_cfg.local_ip, kgdboe_cfg.port);
	}
	pr_info("ready dev=%s ip=%pI4 port=%u mode=%s irqs=%s txqs=%u owner=%s wire=%s\n",
		dev->name, &kgdboe_cfg.local_ip, kgdboe_cfg.port, mode, irqs,
		dev->num_tx_queues, kgdboe_sync_owner(),
		kgdboe_wire_keyed() ? "v2" : "raw");
}

static int __init kgdboe_init(void)
{
	int err;

	err = check_params();
	if (err)
		return err;
	err = kgdboe_wire_init();
	if (err)
		return err;
	err = setup_netpoll();
	if (err)
		return err;
	err = kgdboe_sync_init(kgdboe_cfg.dev);
	if (err)
		goto out_netpoll;
	err = kgdboe_net_start();
	if (err)
		goto out_sync;
	kgdboe_park_init();
	err = kgdboe_stale_stop_init();
	if (err)
		goto out_net;
	if (force_single_core) {
		err = kgdboe_single_core_enter();
		if (err)
			goto out_stale;
	}
	err = kgdb_register_io_module(&kgdboe_io_ops);
	if (err) {
		pr_err("cannot register with KGDB (another I/O driver active?): %d\n",
		       err);
		goto out_single_core;
	}
	err = kgdboe_park_show_tasks();
	if (err)
		goto out_kgdb;
	log_ready();
	return 0;

out_kgdb:
	kgdb_unregister_io_module(&kgdboe_io_ops);
	kgdboe_park_exit();
out_single_core:
	if (force_single_core)
		kgdboe_single_core_leave();
out_stale:
	kgdboe_stale_stop_exit();
out_net:
	kgdboe_net_quiesce();
	kgdboe_net_stop();
out_sync:
	kgdboe_sync_exit();
out_netpoll:
	netpoll_cleanup(&kgdboe_np);
	kgdboe_wire_exit();
	return err;
}

static void __exit kgdboe_exit(void)
{
	/* No new break-ins, then no debugger (our module ref says gdb left). */
	kgdboe_net_quiesce();
	/*
	 * A stop that began after rmmod could not pin us; unregistering
	 * while gdb is attached is a BUG_ON, so wait for it to detach.
	 */
	if (READ_ONCE(kgdb_connected))
		pr_warn("rmmod waits for gdb to detach\n");
	while (READ_ONCE(kgdb_connected))
		msleep(100);
	kgdb_unregister_io_module(&kgdboe_io_ops);
	kgdboe_park_exit();
	kgdboe_stale_stop_exit();
	kgdboe_net_stop();
	if (force_single_core)
		kgdboe_single_core_leave();
	kgdboe_sync_exit();
	netpoll_cleanup(&kgdboe_np);
	kgdboe_wire_exit();
	pr_info("unloaded from %s\n", kgdboe_np.dev_name);
}

module_init(kgdboe_init);
module_exit(kgdboe_exit);

MODULE_DESCRIPTION("KGDB over Ethernet: the GDB remote protocol over UDP via netpoll");
MODULE_LICENSE("GPL");
