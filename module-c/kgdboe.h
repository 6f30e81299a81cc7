/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of kgdboe share.
 *
 * kgdboe_main.c        parameters, load/unload, the struct kgdb_io callbacks
 * kgdboe_net.c         the wire: receive, session, ARP, one datagram per flush
 * kgdboe_sync.c        keeping other CPUs out of the NIC driver while stopped
 * kgdboe_park.c        parking the other CPUs where they hold no irq-safe lock
 * kgdboe_single_core.c safety mode: all CPUs but 0 offline while loaded
 *
 * "Stopped" below means: inside a kgdb callback on the debugger CPU, in NMI
 * context (x86 enters kgdb from int3/#DB through nmi_enter), interrupts off,
 * every other CPU frozen by the KGDB roundup (or about to be, in
 * pre_exception), parked first where it holds no irq-safe lock (see
 * kgdboe_park.c). The stopped path allocates nothing itself (see tx_pool).
 */
#ifndef _KGDBOE_H
#define _KGDBOE_H

#include <linux/netdevice.h>

/* poll_owner value meaning "kgdboe owns this NAPI"; never a CPU number. */
#define KGDBOE_POLL_OWNER	(-2)

/* Fixed at load time, read-only afterwards. */
struct kgdboe_config {
	struct net_device *dev;	/* referenced by our netpoll */
	__be32 local_ip;	/* we answer UDP and ARP for this address */
	__be32 peer_ip;		/* 0: any host may attach */
	u16 port;		/* UDP port, host order */
	bool local_ip_foreign;	/* not an address of dev: answer ARP always */
};

extern struct kgdboe_config kgdboe_cfg;

/* kgdboe_main.c */
void kgdboe_lockdep_pause_here(void);

/* kgdboe_net.c */
int kgdboe_net_start(void);
void kgdboe_net_quiesce(void);
void kgdboe_net_stop(void);
int kgdboe_net_read_char(void);
void kgdboe_net_write_char(u8 c);
void kgdboe_net_flush(void);
void kgdboe_net_flush_io(void);
void kgdboe_net_enter(void);
void kgdboe_net_leave(bool session_over);
bool kgdboe_net_stepping(void);
void kgdboe_net_poll(void);

/* kgdboe_sync.c */
int kgdboe_sync_init(struct net_device *dev);
void kgdboe_sync_exit(void);
void kgdboe_sync_freeze(void);
void kgdboe_sync_thaw(bool stepping);
bool kgdboe_sync_txq_frozen(unsigned int index);
bool kgdboe_sync_irqs_quiet(void);
const char *kgdboe_sync_owner(void);
const char *kgdboe_sync_driver(void);
int kgdboe_sync_irq_list(char *buf, size_t size);

/* kgdboe_park.c */
void kgdboe_park_init(void);
void kgdboe_park_others(void);
void kgdboe_park_release(bool stepping);
void kgdboe_park_exit(void);

/* kgdboe_single_core.c */
int kgdboe_single_core_enter(void);
void kgdboe_single_core_leave(void);

#endif /* _KGDBOE_H */
