// SPDX-License-Identifier: GPL-2.0
/*
 * The wire: GDB remote protocol bytes as UDP datagrams.
 *
 * Owns: the receive ring the stub reads from, the send buffer, ARP
 * answers, and the break-in. Which datagram may do what (attach, break
 * in, reach the stub) is decided in kgdboe_session.c.
 *
 * Receive runs in two contexts:
 *   running - our rx_handler, in the NIC's NAPI softirq on any CPU. The
 *             first datagram of a session (an opener, see
 *             kgdboe_session.c), or a 0x03 from the attached peer, asks
 *             for a break-in. The break
 *             itself happens later in a work item (process context):
 *             entering the debugger from the NAPI poll would leave the
 *             stopped CPU inside the driver.
 *   stopped - read_char polls the NIC's NAPI instances itself (netpoll's
 *             own poll uses budget 0, which only reaps TX), and the same
 *             rx_handler, now on the debugger CPU, takes every frame:
 *             ours go to the ring, ARP for us is answered, the rest is
 *             dropped so the IP stack never runs while the kernel is stopped.
 * Send happens while stopped, one datagram per kgdb flush; the only send
 * while running is an ARP answer for a local_ip the kernel does not own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/irq_work.h>
#include <linux/kgdb.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/serial_core.h>	/* NO_POLL_CHAR */
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/arp.h>
#include <net/checksum.h>
#include <net/ip.h>

#include "kgdboe.h"

#define KGDBOE_RX_RING		4096	/* power of two */
#define KGDBOE_TX_MAX		KGDBOE_TX_PAYLOAD
#define KGDBOE_POLL_BUDGET	16
#define KGDBOE_XMIT_TRIES	1000
#define KGDBOE_TX_POOL		16	/* skbs, allocated at load */
#define KGDBOE_XMIT_RETRY_US	10	/* stopped: busy-wait only */
#define KGDBOE_RENAK_NS		(1500 * NSEC_PER_MSEC)
#define KGDBOE_RENAKS		8	/* per reply, then gdb is gone */

/*
 * Lock rule: rx_lock guards kgdboe_peer and the other session state of
 * kgdboe_session.c, and the rx ring. While running it is taken
 * in softirq only (the rx_handler). While stopped the debugger CPU only
 * trylocks it: a CPU frozen inside the rx_handler cannot exist (we own the
 * NAPI polls), but if the lock is busy we drop the datagram rather than
 * spin - gdb resends.
 */
static DEFINE_SPINLOCK(rx_lock);
static u8 rx_ring[KGDBOE_RX_RING];
static unsigned int rx_head;	/* next byte written */
static unsigned int rx_tail;	/* next byte read */

/* Output for the next datagram; debugger CPU only, while stopped. */
static u8 tx_buf[KGDBOE_TX_MAX];
static unsigned int tx_len;
static unsigned int tx_max = KGDBOE_TX_MAX;
/* The largest UDP payload of the device (tx_max less v2's framing). */
static unsigned int payload_max = KGDBOE_TX_MAX;

/*
 * The frames we send while stopped. They are allocated at load and never
 * freed until unload: the stopped path must not enter the slab or page
 * allocator, whose locks (a kmem_cache_node's list_lock; SLOB's slob_lock,
 * which every allocation takes; a zone's lock) another CPU may hold or be
 * queued on where kgdb froze it, or the stepped code itself may hold. A
 * kmalloc from the stopped path then spins for good (issue 14: CPU 0, the
 * debugger CPU, spun in __slab_alloc_node under alloc_skb in send_datagram).
 * Each skb keeps one reference of ours; the driver's is taken per transmit
 * and dropped by its TX completion, so a users count of 1 means free.
 * Written at load (process context); used by the debugger CPU only.
 */
static struct sk_buff *tx_pool[KGDBOE_TX_POOL];
static unsigned int tx_headroom;

/*
 * The reply last sent, as the stub wrote it: "$...#xx" with a right
 * checksum, and nothing read since. The stub then waits for gdb's ack
 * without a timeout, and gdb waits for a stop reply without one either:
 * a lost datagram would leave both waiting for good. So when nothing comes
 * for KGDBOE_RENAK_NS, read_char hands the stub a '-' and it sends the
 * reply again (gdb ignores a second copy). Debugger CPU only.
 */
static struct {
	enum {
		REPLY_IDLE, REPLY_BODY, REPLY_SUM_HI, REPLY_SUM_LO, REPLY_DONE
	} state;
	u8 sum;
	u8 sum_in;
	bool waiting;		/* sent, not acked */
	u64 since;		/* ktime_get_mono_fast_ns() */
	unsigned int naks;	/* fake NAKs since gdb last sent a byte */
} last_reply;

/*
 * CPU that is stopped in the debugger, -1 while running. It is the CPU
 * doing I/O: kgdb also calls the I/O callbacks from other frozen CPUs.
 * kdb's btc asks each of them to print its own stack (DCPU_WANT_BT in
 * kgdb_cpu_enter(); the stack arrives as 'O' packets written and acked
 * from that CPU), and kdb's "cpu" command moves the stop. One CPU does I/O
 * at a time (the master spins until the other is done), so io_here()
 * hands the stop to whichever CPU calls while one is on. A frame polled
 * on a CPU that is not this one would be taken for a running kernel's and
 * the ack never read: the CPU printing its stack waited for good.
 */
static int stopped_cpu = -1;

static void io_here(void)
{
	int cpu = raw_smp_processor_id();

	if (READ_ONCE(stopped_cpu) >= 0 && READ_ONCE(stopped_cpu) != cpu) {
		WRITE_ONCE(stopped_cpu, cpu);
		kgdboe_lockdep_pause_here();
	}
}

/*
 * The command letter of the last packet the stub read, and whether the
 * byte before was its '$'; debugger CPU only. Tells a single step ('s')
 * from a resume, which kgdb does not export.
 */
static u8 last_cmd;
static bool after_dollar;

/*
 * A stop resumed without a debugger (kgdboe_stale_stop.c): the stub reads
 * script before the ring and nothing it writes leaves. Debugger CPU only,
 * from pre_exception to post_exception.
 */
static const char *script;
static unsigned int script_left;
static bool muted;

/* Set by the rx_handler, consumed by the break work or by any stop. */
static atomic_t break_wanted = ATOMIC_INIT(0);

/* Set at unload: no more break-ins (kgdb_breakpoint needs kgdb armed). */
static bool closing;

/*
 * True while kgdboe_break_fn() is inside kgdb_breakpoint(): the stop that
 * comes is one the module asked for. Written by the break work only, read
 * in pre_exception (no lock: one writer, a flag).
 */
static bool breaking;

static void kgdboe_break_fn(struct work_struct *work)
{
	if (atomic_xchg(&break_wanted, 0) && !READ_ONCE(closing)) {
		WRITE_ONCE(breaking, true);
		kgdb_breakpoint();
		WRITE_ONCE(breaking, false);
	}
}

static DECLARE_WORK(break_work, kgdboe_break_fn);

/*
 * v2: input that came while stopped, after the stub took its c or s (the
 * client's 0x03 right behind a resume), stays in the ring; post_exception
 * (NMI context) cannot schedule work, so it asks through an irq_work.
 */
static void kgdboe_break_irq_fn(struct irq_work *work)
{
	if (!READ_ONCE(closing))
		schedule_work(&break_work);
}

static struct irq_work break_irq = IRQ_WORK_INIT(kgdboe_break_irq_fn);

/* Does the ring hold a break (0x03) or a packet start? rx_lock held. */
static bool ring_wants_break(void)
{
	unsigned int i;
	u8 c;

	for (i = rx_tail; i != rx_head; i++) {
		c = rx_ring[i & (KGDBOE_RX_RING - 1)];
		if (c == 0x03 || c == '$')
			return true;
	}
	return false;
}

static unsigned int rx_used(void)
{
	return rx_head - rx_tail;
}

/* Queue one datagram's payload whole, or not at all; rx_lock held. */
static void rx_queue(const struct sk_buff *skb, unsigned int off,
		     unsigned int len)
{
	unsigned int pos, chunk;

	if (len > KGDBOE_RX_RING - rx_used()) {
		kgdboe_session_request_lost();
		return;
	}
	while (len) {
		pos = rx_head & (KGDBOE_RX_RING - 1);
		chunk = min(len, KGDBOE_RX_RING - pos);
		if (skb_copy_bits(skb, off, rx_ring + pos, chunk))
			return;
		off += chunk;
		len -= chunk;
		rx_head += chunk;
	}
}

/* A checked datagram for our address and port. */
static void rx_datagram(const struct sk_buff *skb, __be32 saddr, __be16 sport,
			unsigned int off, unsigned int len, bool stopped)
{
	bool brk = false;

	if (kgdboe_cfg.peer_ip && saddr != kgdboe_cfg.peer_ip)
		return;
	if (!skb_mac_header_was_set(skb) ||
	    !is_valid_ether_addr(eth_hdr(skb)->h_source))
		return;

	/* Keyed: the v2 wire alone decides (kgdboe_wire.c). */
	if (kgdboe_wire_keyed()) {
		struct kgdboe_dest from = { .ip = saddr, .port = sport };

		ether_addr_copy(from.mac, eth_hdr(skb)->h_source);
		kgdboe_wire_rx(skb, off, len, &from, stopped);
		return;
	}

	if (stopped) {
		if (!spin_trylock(&rx_lock))
			return;
	} else {
		spin_lock(&rx_lock);
	}

	/* Raw mode: the session rules of kgdboe_session.c. */
	switch (kgdboe_session_rx(skb, saddr, sport, off, len, stopped,
				  READ_ONCE(closing))) {
	case KGDBOE_RX_DROP:
		break;
	case KGDBOE_RX_QUEUE:
		rx_queue(skb, off, len);
		break;
	case KGDBOE_RX_BREAK:
		brk = true;
		break;
	case KGDBOE_RX_TAKEOVER:
		/* What the old peer left in the ring is dropped. */
		rx_tail = rx_head;
		fallthrough;
	case KGDBOE_RX_ATTACH:
		rx_queue(skb, off, len);
		brk = !stopped;
		break;
	}
	spin_unlock(&rx_lock);

	if (brk) {
		atomic_set(&break_wanted, 1);
		schedule_work(&break_work);
	}
}

/* True if the frame was for our UDP port (and so is ours to free). */
static bool rx_udp(const struct sk_buff *skb, bool stopped)
{
	u8 hbuf[60];
	const struct iphdr *iph;
	const struct udphdr *uh;
	struct udphdr _uh;
	unsigned int ihl, tot, ulen;
	__wsum csum;

	if (skb->pkt_type != PACKET_HOST)
		return false;
	iph = skb_header_pointer(skb, 0, sizeof(struct iphdr), hbuf);
	if (!iph || iph->version != 4 || iph->ihl < 5 ||
	    iph->protocol != IPPROTO_UDP || iph->daddr != kgdboe_cfg.local_ip)
		return false;
	ihl = iph->ihl * 4;
	iph = skb_header_pointer(skb, 0, ihl, hbuf);
	if (!iph || ip_fast_csum(iph, iph->ihl))
		return false;
	/* Fragments are left to the IP stack: we take whole datagrams only. */
	if (ip_is_fragment(iph))
		return false;
	tot = ntohs(iph->tot_len);
	if (tot > skb->len || tot < ihl + sizeof(*uh))
		return false;
	uh = skb_header_pointer(skb, ihl, sizeof(_uh), &_uh);
	if (!uh || uh->dest != htons(kgdboe_cfg.port))
		return false;

	/* From here on the frame is ours, good or bad. */
	ulen = ntohs(uh->len);
	if (ulen < sizeof(*uh) || ulen > tot - ihl)
		return true;
	if (uh->check) {
		csum = skb_checksum(skb, ihl, ulen, 0);
		if (csum_tcpudp_magic(iph->saddr, iph->daddr, ulen,
				      IPPROTO_UDP, csum))
			return true;
	}
	if (ipv4_is_multicast(iph->saddr) || ipv4_is_lbcast(iph->saddr) ||
	    ipv4_is_zeronet(iph->saddr))
		return true;
	rx_datagram(skb, iph->saddr, uh->source, ihl + sizeof(*uh),
		    ulen - sizeof(*uh), stopped);
	return true;
}

static void arp_reply_stopped(const u8 *tha, __be32 tip);

/* True if the frame was an ARP request for local_ip that we answered. */
static bool rx_arp(const struct sk_buff *skb, bool stopped)
{
	struct net_device *dev = kgdboe_cfg.dev;
	struct {
		struct arphdr hdr;
		u8 sha[ETH_ALEN];
		__be32 sip;
		u8 tha[ETH_ALEN];
		__be32 tip;
	} __packed _arp;
	const typeof(_arp) *arp;
	struct sk_buff *reply;

	if (!stopped && !kgdboe_cfg.local_ip_foreign)
		return false;	/* the kernel answers for its own address */
	arp = skb_header_pointer(skb, 0, sizeof(_arp), &_arp);
	if (!arp || arp->hdr.ar_hrd != htons(ARPHRD_ETHER) ||
	    arp->hdr.ar_pro != htons(ETH_P_IP) ||
	    arp->hdr.ar_hln != ETH_ALEN || arp->hdr.ar_pln != 4 ||
	    arp->hdr.ar_op != htons(ARPOP_REQUEST) ||
	    arp->tip != kgdboe_cfg.local_ip ||
	    !is_valid_ether_addr(arp->sha))
		return false;

	if (stopped) {
		arp_reply_stopped(arp->sha, arp->sip);
		return true;
	}
	reply = arp_create(ARPOP_REPLY, ETH_P_ARP, arp->sip, dev,
			   kgdboe_cfg.local_ip, arp->sha, dev->dev_addr,
			   arp->sha);
	if (reply)
		dev_queue_xmit(reply);
	return true;
}

/*
 * Sees every frame of the device after the taps, before the IP stack.
 * Context: softirq (running) or the debugger CPU (stopped, our own poll).
 */
static rx_handler_result_t kgdboe_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	bool stopped = READ_ONCE(stopped_cpu) == raw_smp_processor_id();
	bool ours = false;

	if (skb->protocol == htons(ETH_P_IP))
		ours = rx_udp(skb, stopped);
	else if (skb->protocol == htons(ETH_P_ARP))
		ours = rx_arp(skb, stopped);

	if (stopped) {
		/*
		 * Nothing reaches the stack. Freed here, not deferred to the
		 * softirq (dev_kfree_skb_irq): that softirq never runs while
		 * stopped, so every request held ~1 KiB until resume and a
		 * long read (a whole-RAM core: ~500k requests) ran the kernel
		 * out of memory mid-read. An rx skb has no destructor, and
		 * the driver's poll already allocates in this same context.
		 */
		consume_skb(skb);
		return RX_HANDLER_CONSUMED;
	}
	if (!ours)
		return RX_HANDLER_PASS;
	consume_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/*
 * A TX lock that is not free now (held, or waited for) belongs to a CPU
 * frozen outside the driver. A probe, not an assertion: lockdep cannot say.
 */
static bool txq_lock_held(struct net_device *dev)
{
	struct netdev_queue *txq;
	unsigned int i;

	for (i = 0; i < dev->num_tx_queues; i++) {
		txq = netdev_get_tx_queue(dev, i);
		if (raw_spin_is_locked(&txq->_xmit_lock.rlock))
			return true;
	}
	return false;
}

/*
 * Every frame freed while stopped with dev_kfree_skb_irq/_any() - what a
 * driver frees, and what our rx_handler freed that way before it took to
 * consume_skb() - goes onto this CPU's softnet completion queue, for the
 * NET_TX softirq, which does not run until the kernel resumes. A long stop under a flood
 * then holds every frame it received: 316,448 skbs held all of a 512 MiB
 * guest's memory after 450,000 junk datagrams from the peer and as many
 * from a stranger, and the NIC's receive ring, refilled from the page
 * allocator, ran dry: no datagram reached the stub again and the kernel
 * stayed stopped (issue 14's failed junk flood). So the poll frees them
 * itself, as netpoll's zap_completion_queue() does: the frames that can be
 * freed from any context (skb_irq_freeable()) go now, except page-pool
 * ones, whose return to their pool takes a BH lock (not from NMI context:
 * vmxnet3 with XDP). Only what was queued since this stop began (cq_base,
 * the head then) is touched: the queue links new frames at its head, and
 * the code kgdb interrupted may be in the middle of taking the older part.
 * Debugger CPU only.
 */
static struct sk_buff *cq_base;
static int cq_cpu = -1;

static void cq_mark(void)
{
	cq_cpu = smp_processor_id();
	cq_base = this_cpu_read(softnet_data.completion_queue);
}

static void cq_zap(void)
{
	struct softnet_data *sd;
	struct sk_buff *skb, *next;

	/* A kdb "cpu" switch moved the debugger: not our queue. */
	if (smp_processor_id() != cq_cpu)
		return;
	sd = this_cpu_ptr(&softnet_data);
	skb = sd->completion_queue;
	sd->completion_queue = cq_base;
	while (skb && skb != cq_base) {
		next = skb->next;
		if (skb_irq_freeable(skb) && !skb->pp_recycle) {
			__kfree_skb(skb);
		} else {
			/* A destructor and the like: back to the softirq. */
			skb->next = sd->completion_queue;
			sd->completion_queue = skb;
		}
		skb = next;
	}
	cq_base = sd->completion_queue;
}

/*
 * Drive the NIC's NAPI instances with a real budget, as netpoll would if
 * it received. NPSVC makes napi_complete_done() a no-op, so the NAPI stays
 * owned by whoever scheduled it; GRO_NORMAL skbs it batched are handed on
 * here because that no-op also skips the flush. Stopped only.
 */
void kgdboe_net_poll(void)
{
	struct net_device *dev = kgdboe_cfg.dev;
	struct napi_struct *napi;
	bool tx_locked;
	LIST_HEAD(rx);

	if (!netif_running(dev))
		return;
	tx_locked = txq_lock_held(dev);
	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (READ_ONCE(napi->poll_owner) != KGDBOE_POLL_OWNER)
			continue;
		/*
		 * TX-only NAPIs (netif_napi_add_tx) may spin on the TX lock,
		 * as virtio-net's does: not while a frozen CPU holds it.
		 */
		if (tx_locked && test_bit(NAPI_STATE_NO_BUSY_POLL, &napi->state))
			continue;
		/* Already set: the NAPI is disabled. */
		if (test_and_set_bit(NAPI_STATE_NPSVC, &napi->state))
			continue;
		napi->poll(napi, KGDBOE_POLL_BUDGET);
		clear_bit(NAPI_STATE_NPSVC, &napi->state);
		if (napi->rx_count) {
			list_splice_init(&napi->rx_list, &rx);
			napi->rx_count = 0;
			netif_receive_skb_list(&rx);
		}
	}
	cq_zap();
}

/*
 * Some drivers reap sent buffers only in their interrupt handler (e1000e
 * with MSI-X, 8139cp, 8139too), which is off while stopped: run it, as
 * their netpoll hook would, but never the hook itself (its disable_irq()
 * can wait for good, see kgdboe_irq_poll.c). Then the NAPI polls.
 */
static void reap_tx(struct net_device *dev)
{
	kgdboe_irq_poll(dev);
	kgdboe_net_poll();
}

/* A free frame of the pool, empty, with our headroom; NULL if none. */
static struct sk_buff *tx_skb_get(void)
{
	struct sk_buff *skb;
	unsigned int i, tries;

	for (tries = 0; tries < KGDBOE_XMIT_TRIES; tries++) {
		for (i = 0; i < KGDBOE_TX_POOL; i++) {
			skb = tx_pool[i];
			if (!skb || refcount_read(&skb->users) != 1)
				continue;
			/* Back to an empty linear buffer (the driver is done). */
			skb_push(skb, skb_headroom(skb));
			__skb_trim(skb, 0);
			skb_reserve(skb, tx_headroom);
			skb->next = NULL;
			skb->prev = NULL;
			skb->ip_summed = CHECKSUM_NONE;
			return skb;
		}
		/* All still on the TX ring: let the driver reap them. */
		reap_tx(kgdboe_cfg.dev);
		udelay(KGDBOE_XMIT_RETRY_US);
	}
	return NULL;
}

/*
 * Transmit a pool frame while stopped. The TX lock is only trylocked: if a
 * frozen CPU holds it, that CPU is not inside the driver (the queue was
 * marked FROZEN in pre_exception, see kgdboe_sync.c), so sending without it
 * is safe. The driver gets a reference of its own, which its TX completion
 * drops; a frame it refuses goes back to the pool as it is.
 */
static void xmit_stopped(struct sk_buff *skb)
{
	struct net_device *dev = kgdboe_cfg.dev;
	struct netdev_queue *txq = netdev_get_tx_queue(dev, 0);
	netdev_tx_t rc;
	unsigned int tries;
	bool locked;

	skb_set_queue_mapping(skb, 0);
	for (tries = 0; tries < KGDBOE_XMIT_TRIES; tries++) {
		rc = NETDEV_TX_BUSY;
		locked = __netif_tx_trylock(txq);
		if ((locked || kgdboe_sync_txq_frozen(0)) &&
		    netif_running(dev) && !netif_xmit_stopped(txq)) {
			skb_get(skb);
			rc = netdev_start_xmit(skb, dev, txq, false);
			/* Not taken: the driver's reference is still ours. */
			if (!dev_xmit_complete(rc))
				refcount_dec(&skb->users);
		}
		if (locked)
			__netif_tx_unlock(txq);
		if (dev_xmit_complete(rc))
			return;
		/* Ring full or BQL limit reached: reap and retry. */
		reap_tx(dev);
		udelay(KGDBOE_XMIT_RETRY_US);
	}
}

/* Puts UDP, IP and Ethernet headers before the payload already in skb. */
static void udp_frame(struct sk_buff *skb, const struct kgdboe_dest *to)
{
	struct net_device *dev = kgdboe_cfg.dev;
	unsigned int ulen = sizeof(struct udphdr) + skb->len;
	struct udphdr *uh;
	struct iphdr *iph;
	struct ethhdr *eth;

	uh = skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh->source = htons(kgdboe_cfg.port);
	uh->dest = to->port;
	uh->len = htons(ulen);
	uh->check = 0;
	uh->check = csum_tcpudp_magic(kgdboe_cfg.local_ip, to->ip, ulen,
				      IPPROTO_UDP, csum_partial(uh, ulen, 0));
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;

	iph = skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = htons(sizeof(*iph) + ulen);
	iph->id = 0;
	iph->frag_off = htons(IP_DF);
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = kgdboe_cfg.local_ip;
	iph->daddr = to->ip;
	iph->check = 0;
	iph->check = ip_fast_csum(iph, iph->ihl);

	eth = skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	eth->h_proto = htons(ETH_P_IP);
	ether_addr_copy(eth->h_source, dev->dev_addr);
	ether_addr_copy(eth->h_dest, to->mac);

	skb->protocol = htons(ETH_P_IP);
	skb->dev = dev;
}

/* Stopped: a pool frame. */
static void send_datagram(const struct kgdboe_dest *to, const u8 *data,
			  unsigned int len)
{
	struct sk_buff *skb;

	skb = tx_skb_get();
	if (!skb)
		return;	/* all in flight: gdb resends */
	skb_put_data(skb, data, len);
	udp_frame(skb, to);
	xmit_stopped(skb);
}

/*
 * One datagram to any host. Stopped: a pool frame. Running (softirq, the
 * v2 handshake and acks): a new skb through the qdisc, as ARP answers go.
 */
void kgdboe_net_send(const struct kgdboe_dest *to, const u8 *data,
		     unsigned int len, bool stopped)
{
	struct net_device *dev = kgdboe_cfg.dev;
	struct sk_buff *skb;

	if (len > payload_max)
		return;
	if (stopped) {
		send_datagram(to, data, len);
		return;
	}
	skb = alloc_skb(tx_headroom + max_t(unsigned int, len, ETH_ZLEN) +
			dev->needed_tailroom, GFP_ATOMIC);
	if (!skb)
		return;	/* the peer resends */
	skb_reserve(skb, tx_headroom);
	skb_put_data(skb, data, len);
	udp_frame(skb, to);
	dev_queue_xmit(skb);
}

/* The stub's raw-mode peer as a destination. */
static struct kgdboe_dest peer_dest(void)
{
	struct kgdboe_dest to = { .ip = kgdboe_peer.ip, .port = kgdboe_peer.port };

	ether_addr_copy(to.mac, kgdboe_peer.mac);
	return to;
}

/* What arp_create() builds, in a pool frame: no allocation while stopped. */
static void arp_reply_stopped(const u8 *tha, __be32 tip)
{
	struct net_device *dev = kgdboe_cfg.dev;
	struct sk_buff *skb;
	struct arphdr *arp;
	struct ethhdr *eth;
	u8 *p;

	skb = tx_skb_get();
	if (!skb)
		return;
	arp = skb_put(skb, sizeof(*arp) + 2 * (ETH_ALEN + 4));
	skb_reset_network_header(skb);
	arp->ar_hrd = htons(ARPHRD_ETHER);
	arp->ar_pro = htons(ETH_P_IP);
	arp->ar_hln = ETH_ALEN;
	arp->ar_pln = 4;
	arp->ar_op = htons(ARPOP_REPLY);
	p = (u8 *)(arp + 1);
	memcpy(p, dev->dev_addr, ETH_ALEN);
	p += ETH_ALEN;
	memcpy(p, &kgdboe_cfg.local_ip, 4);
	p += 4;
	memcpy(p, tha, ETH_ALEN);
	p += ETH_ALEN;
	memcpy(p, &tip, 4);

	eth = skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	eth->h_proto = htons(ETH_P_ARP);
	ether_addr_copy(eth->h_source, dev->dev_addr);
	ether_addr_copy(eth->h_dest, tha);

	skb->protocol = htons(ETH_P_ARP);
	skb->dev = dev;
	xmit_stopped(skb);
}

/* Follows what the stub writes, to know when it waits for an ack. */
static void reply_track(u8 c)
{
	int digit = hex_to_bin(c);

	if (c == '$') {
		last_reply.state = REPLY_BODY;
		last_reply.sum = 0;
	} else if (last_reply.state == REPLY_BODY && c == '#') {
		last_reply.state = REPLY_SUM_HI;
	} else if (last_reply.state == REPLY_BODY) {
		last_reply.sum += c;
	} else if (last_reply.state == REPLY_SUM_HI && digit >= 0) {
		last_reply.sum_in = digit << 4;
		last_reply.state = REPLY_SUM_LO;
	} else if (last_reply.state == REPLY_SUM_LO && digit >= 0 &&
		   (last_reply.sum_in | digit) == last_reply.sum) {
		last_reply.state = REPLY_DONE;
	} else {
		last_reply.state = REPLY_IDLE;
	}
}

void kgdboe_net_flush(void)
{
	struct kgdboe_dest to;

	if (tx_len && kgdboe_wire_keyed()) {
		kgdboe_wire_write(tx_buf, tx_len);
	} else if (tx_len && kgdboe_peer.attached) {
		to = peer_dest();
		send_datagram(&to, tx_buf, tx_len);
		if (last_reply.state == REPLY_DONE) {
			last_reply.waiting = true;
			last_reply.since = ktime_get_mono_fast_ns();
		}
	}
	tx_len = 0;
}

/*
 * kgdb's flush. The stub flushes its '+' ack before it runs a command and
 * again after the reply: a lone ack waits for the reply so that both go out
 * in one datagram, a third fewer frames through the NIC per request.
 * read_char flushes it whenever the stub waits for input, leave on resume.
 */
void kgdboe_net_flush_io(void)
{
	io_here();
	if (tx_len == 1 && tx_buf[0] == '+')
		return;
	kgdboe_net_flush();
}

void kgdboe_net_write_char(u8 c)
{
	io_here();
	if (muted)
		return;
	if (tx_len == tx_max)
		kgdboe_net_flush();
	tx_buf[tx_len++] = c;
	/* A NAK outside a reply: the stub dropped the request it read. */
	if (c == '-' && last_reply.state != REPLY_BODY &&
	    !kgdboe_wire_keyed() && spin_trylock(&rx_lock)) {
		kgdboe_session_request_lost();
		spin_unlock(&rx_lock);
	}
	reply_track(c);
}

/* A '-' for the stub if its reply seems lost (see last_reply). */
static bool renak_due(void)
{
	if (!last_reply.waiting || last_reply.naks >= KGDBOE_RENAKS ||
	    ktime_get_mono_fast_ns() - last_reply.since < KGDBOE_RENAK_NS)
		return false;
	last_reply.waiting = false;
	last_reply.naks++;
	return true;
}

int kgdboe_net_read_char(void)
{
	int c = NO_POLL_CHAR;

	io_here();
	if (script_left) {
		script_left--;
		return *script++;
	}
	if (!rx_used()) {
		/* kdb writes without flushing: let its prompt out first. */
		kgdboe_net_flush();
		kgdboe_net_poll();
		kgdboe_wire_idle();
	}
	if (!spin_trylock(&rx_lock))
		return NO_POLL_CHAR;
	if (rx_used())
		c = rx_ring[rx_tail++ & (KGDBOE_RX_RING - 1)];
	spin_unlock(&rx_lock);
	/* The v2 wire resends itself: no fake NAKs there. */
	if (c == NO_POLL_CHAR)
		return !kgdboe_wire_keyed() && renak_due() ? '-' :
		       NO_POLL_CHAR;
	last_reply.waiting = false;
	last_reply.naks = 0;
	if (after_dollar)
		last_cmd = c;
	after_dollar = c == '$';
	return c;
}

/* post_exception: is the stub resuming for a single step? */
bool kgdboe_net_stepping(void)
{
	return last_cmd == 's' || last_cmd == 'S';
}

/*
 * pre_exception, after kgdboe_net_enter(): the stub reads @text (kept by
 * the caller until post_exception) before anything that came in, and what
 * it writes until kgdboe_net_leave() goes nowhere.
 */
void kgdboe_net_script(const char *text, unsigned int len)
{
	script = text;
	script_left = len;
	muted = true;
}

/* pre_exception, after the NIC is ours. */
void kgdboe_net_enter(void)
{
	/* Whatever stopped us answers a pending break-in request too. */
	atomic_set(&break_wanted, 0);
	cq_mark();
	WRITE_ONCE(stopped_cpu, smp_processor_id());
	if (READ_ONCE(breaking))
		kgdboe_wire_orphan_stop();
}

/*
 * post_exception; session_over when gdb detached (or never attached).
 * Whatever is still in the ring came in the same poll as the c or s the
 * stub just took: a network duplicate of it, or a resend. Left there, it
 * would be read at the next stop and resume the kernel behind gdb's back.
 */
void kgdboe_net_leave(bool session_over)
{
	muted = false;
	script_left = 0;
	kgdboe_net_flush();
	last_reply.waiting = false;
	if (spin_trylock(&rx_lock)) {
		if (session_over)
			kgdboe_session_end();
		/*
		 * v2 has no network duplicates: what came is acked and is
		 * the client's next input, read at the next stop (which it
		 * asks for). Without a live session it is nobody's.
		 */
		if (!kgdboe_wire_active()) {
			rx_tail = rx_head;
		} else if (ring_wants_break() && !READ_ONCE(closing)) {
			atomic_set(&break_wanted, 1);
			irq_work_queue(&break_irq);
		}
		spin_unlock(&rx_lock);
	}
	WRITE_ONCE(stopped_cpu, -1);
}

/* Drops our reference; a frame still on the TX ring goes with the driver's. */
static void tx_pool_empty(void)
{
	unsigned int i;

	for (i = 0; i < KGDBOE_TX_POOL; i++) {
		consume_skb(tx_pool[i]);
		tx_pool[i] = NULL;
	}
}

/* Process context, at load: every frame the stopped path will send. */
static int tx_pool_fill(struct net_device *dev)
{
	unsigned int size, i;

	tx_headroom = LL_RESERVED_SPACE(dev) + sizeof(struct iphdr) +
		      sizeof(struct udphdr);
	/* Tailroom for ETH_ZLEN padding too: drivers pad in place. */
	size = tx_headroom + max_t(unsigned int, tx_max, ETH_ZLEN) +
	       dev->needed_tailroom;
	for (i = 0; i < KGDBOE_TX_POOL; i++) {
		tx_pool[i] = alloc_skb(size, GFP_KERNEL);
		if (!tx_pool[i]) {
			tx_pool_empty();
			return -ENOMEM;
		}
		skb_reserve(tx_pool[i], tx_headroom);
	}
	return 0;
}

/*
 * The v2 wire's in-order bytes for the stub. False (nothing queued) if
 * the ring has no room or its lock is busy: the client resends.
 */
bool kgdboe_net_deliver(const u8 *data, unsigned int len, bool stopped)
{
	unsigned int pos, chunk;

	if (!spin_trylock(&rx_lock))
		return false;
	if (len > KGDBOE_RX_RING - rx_used()) {
		spin_unlock(&rx_lock);
		return false;
	}
	while (len) {
		pos = rx_head & (KGDBOE_RX_RING - 1);
		chunk = min(len, KGDBOE_RX_RING - pos);
		memcpy(rx_ring + pos, data, chunk);
		data += chunk;
		len -= chunk;
		rx_head += chunk;
	}
	spin_unlock(&rx_lock);
	return true;
}

/* A v2 session asks to stop the kernel; softirq (running) only. */
void kgdboe_net_break(void)
{
	if (READ_ONCE(closing))
		return;
	atomic_set(&break_wanted, 1);
	schedule_work(&break_work);
}

/* The v2 session that asked for a stop closed first; softirq (running). */
void kgdboe_net_cancel_break(void)
{
	atomic_set(&break_wanted, 0);
}

/* A new v2 session: what an old one left unread is not its input. */
void kgdboe_net_discard_input(void)
{
	if (spin_trylock(&rx_lock)) {
		rx_tail = rx_head;
		spin_unlock(&rx_lock);
	}
}

unsigned int kgdboe_net_payload_max(void)
{
	return payload_max;
}

/* Process context, at load. */
int kgdboe_net_start(void)
{
	struct net_device *dev = kgdboe_cfg.dev;
	int err;

	tx_max = min_t(unsigned int, KGDBOE_TX_MAX,
		       dev->mtu - sizeof(struct iphdr) -
		       sizeof(struct udphdr));
	payload_max = tx_max;
	/* The stub's bytes get v2's header and tag around them. */
	if (kgdboe_wire_keyed())
		tx_max -= KGDBOE_WIRE_OVERHEAD;
	err = tx_pool_fill(dev);
	if (err)
		return err;
	rtnl_lock();
	err = netdev_rx_handler_register(dev, kgdboe_rx_handler, NULL);
	rtnl_unlock();
	if (err) {
		pr_err("%s already has an rx_handler (bridge, bond or macvlan port?): %d\n",
		       dev->name, err);
		tx_pool_empty();
	}
	return err;
}

/*
 * Process context, at unload, before kgdb lets go of us: no break-in may
 * start after this. One already in the debugger ends when gdb detaches.
 */
void kgdboe_net_quiesce(void)
{
	WRITE_ONCE(closing, true);
	atomic_set(&break_wanted, 0);
	irq_work_sync(&break_irq);
	cancel_work_sync(&break_work);
}

/* Process context, at unload, after kgdb let go of us. */
void kgdboe_net_stop(void)
{
	rtnl_lock();
	netdev_rx_handler_unregister(kgdboe_cfg.dev);
	rtnl_unlock();
	tx_pool_empty();
}
