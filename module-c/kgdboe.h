/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of kgdboe share.
 *
 * kgdboe_main.c        parameters, load/unload, the struct kgdb_io callbacks
 * kgdboe_net.c         the wire: receive ring, ARP, one datagram per flush
 * kgdboe_session.c     raw mode: who may attach, what a datagram may do
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

/* kgdboe_session.c; every call with kgdboe_net.c's rx_lock held */
struct kgdboe_peer {
	bool attached;
	__be32 ip;
	__be16 port;
	u8 mac[ETH_ALEN];
	u64 heard;	/* ktime_get_mono_fast_ns() of its last datagram */
};

/* The host driving the kernel; guarded by rx_lock. */
extern struct kgdboe_peer kgdboe_peer;

/* What kgdboe_net.c does with a datagram. */
enum kgdboe_rx {
	KGDBOE_RX_DROP,		/* nothing */
	KGDBOE_RX_QUEUE,	/* to the ring, for the stub */
	KGDBOE_RX_BREAK,	/* running: break in (a 0x03 of the peer) */
	KGDBOE_RX_ATTACH,	/* a new session: queue, and break in if running */
	KGDBOE_RX_TAKEOVER,	/* the same, the old peer's ring bytes dropped */
};

enum kgdboe_rx kgdboe_session_rx(const struct sk_buff *skb, __be32 saddr,
				 __be16 sport, unsigned int off,
				 unsigned int len, bool stopped, bool closing);
void kgdboe_session_end(void);
void kgdboe_session_log_mode(void);

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
