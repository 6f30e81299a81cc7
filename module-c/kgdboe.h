/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of kgdboe share.
 *
 * kgdboe_main.c        parameters, load/unload, the struct kgdb_io callbacks
 * kgdboe_net.c         the wire: receive ring, ARP, one datagram per flush
 * kgdboe_session.c     raw mode: who may attach, what a datagram may do
 * kgdboe_sync.c        keeping other CPUs out of the NIC driver while stopped
 * kgdboe_irq_poll.c    the NIC's IRQ handlers run while stopped, never its netpoll hook
 * kgdboe_park.c        parking the other CPUs where they hold no irq-safe lock
 * kgdboe_stale_stop.c  a breakpoint's stop that outlived its debugger goes on
 * kgdboe_single_core.c safety mode: all CPUs but 0 offline while loaded
 * kgdboe_wire.c        the keyed v2 wire: handshake, reliable stream, reads
 * kgdboe_crypto.c      ChaCha20-Poly1305 and BLAKE2s for the v2 wire
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

/* Where a datagram goes: the host, its UDP port and the next hop's MAC. */
struct kgdboe_dest {
	__be32 ip;
	__be16 port;
	u8 mac[ETH_ALEN];
};

/* Largest UDP payload we send: a 1500-byte MTU. */
#define KGDBOE_TX_PAYLOAD	1472
#define KGDBOE_KEY_SIZE		32
#define KGDBOE_TAG_SIZE		16
#define KGDBOE_WIRE_HDR		24
/* What the v2 wire adds to each datagram of the stub's bytes. */
#define KGDBOE_WIRE_OVERHEAD	(KGDBOE_WIRE_HDR + KGDBOE_TAG_SIZE)

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
void kgdboe_net_script(const char *text, unsigned int len);
void kgdboe_net_poll(void);
void kgdboe_net_send(const struct kgdboe_dest *to, const u8 *data,
		     unsigned int len, bool stopped);
bool kgdboe_net_deliver(const u8 *data, unsigned int len, bool stopped);
void kgdboe_net_break(void);
void kgdboe_net_cancel_break(void);
void kgdboe_net_discard_input(void);
unsigned int kgdboe_net_payload_max(void);

/* kgdboe_wire.c */
bool kgdboe_wire_keyed(void);
void kgdboe_wire_orphan_stop(void);
int kgdboe_wire_init(void);
void kgdboe_wire_exit(void);
bool kgdboe_wire_active(void);
void kgdboe_wire_rx(const struct sk_buff *skb, unsigned int off,
		    unsigned int len, const struct kgdboe_dest *from,
		    bool stopped);
void kgdboe_wire_write(const u8 *data, unsigned int len);
void kgdboe_wire_idle(void);

/* kgdboe_crypto.c: only with lib/crypto's generic ChaCha20 and Poly1305. */
#if IS_ENABLED(CONFIG_CRYPTO_LIB_CHACHA_GENERIC) && \
	IS_ENABLED(CONFIG_CRYPTO_LIB_POLY1305_GENERIC)
#define KGDBOE_HAVE_CRYPTO	1
#else
#define KGDBOE_HAVE_CRYPTO	0
#endif
void kgdboe_aead_seal(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE]);
bool kgdboe_aead_open(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE]);
void kgdboe_kdf(u8 out[KGDBOE_KEY_SIZE], const u8 key[KGDBOE_KEY_SIZE],
		const char *label, const u8 *a, size_t a_len, const u8 *b,
		size_t b_len, const u8 *c, size_t c_len);

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
void kgdboe_session_request_lost(void);
void kgdboe_session_end(void);
void kgdboe_session_log_mode(void);

/* kgdboe_sync.c */
int kgdboe_sync_init(struct net_device *dev);
void kgdboe_sync_exit(void);
void kgdboe_sync_freeze(void);
void kgdboe_sync_thaw(bool stepping);
bool kgdboe_sync_txq_frozen(unsigned int index);
bool kgdboe_sync_irqs_quiet(void);
unsigned int kgdboe_sync_nr_irqs(void);
unsigned int kgdboe_sync_irq(unsigned int i);
const char *kgdboe_sync_owner(void);
const char *kgdboe_sync_driver(void);
int kgdboe_sync_irq_list(char *buf, size_t size);

/* kgdboe_irq_poll.c */
void kgdboe_irq_poll(struct net_device *dev);

/* kgdboe_stale_stop.c */
int kgdboe_stale_stop_init(void);
bool kgdboe_stale_stop_enter(void);
void kgdboe_stale_stop_leave(bool was_connected);
void kgdboe_stale_stop_exit(void);

/* kgdboe_park.c */
void kgdboe_park_init(void);
int kgdboe_park_show_tasks(void);
void kgdboe_park_others(void);
void kgdboe_park_release(bool stepping);
struct pt_regs;
void kgdboe_park_trap(struct pt_regs *regs, bool debug_trap);
void kgdboe_park_exit(void);

/* kgdboe_single_core.c */
int kgdboe_single_core_enter(void);
void kgdboe_single_core_leave(void);

#endif /* _KGDBOE_H */
