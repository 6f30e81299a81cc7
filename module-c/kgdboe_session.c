// SPDX-License-Identifier: GPL-2.0
/*
 * Raw mode (no key): who may open a session, and what a datagram may do.
 *
 * Owns: the peer (the host:port that drives the kernel), the memory of
 * the session that ended last, and the rules that turn a datagram into
 * "drop", "queue for the stub", "break in" or "attach". kgdboe_net.c owns
 * the ring and the sending; it asks kgdboe_session_rx() what to do.
 *
 * In raw mode the module speaks plain GDB remote protocol to whoever can
 * reach its UDP port: anyone may stop the kernel and read and write its
 * memory (the load log says so). What the rules below prevent is a kernel
 * left stopped with nobody attached, by a datagram that no debugger meant
 * as the start of a session:
 *
 *   - A session opens only with an opener: the first complete packet of
 *     the datagram (right checksum) is "qSupported..." (the first packet
 *     gdb, lldb, drgn and KgdbOe's client send) or "?" (gdb's status
 *     query, which older and hand-made clients send first). These are
 *     also the two packets kdb takes as "a gdb is connecting"
 *     (kernel/debug/kdb/kdb_io.c); any other packet sent to a kernel in
 *     kdb mode would be typed at the kdb prompt. So a late or duplicated
 *     D, k, c, s, g, m, M..., a lone '+', '-' or 0x03, or junk never
 *     stops a kernel that nobody is attached to.
 *   - After a session ends (gdb's D answered, or k), for KGDBOE_LINGER_NS
 *     every datagram the peer that left sent before it knew the session
 *     was over may still arrive (gdb resends D and ? when an answer is
 *     slow; a lossy link duplicates). None of those is an opener but "?",
 *     refused below; a qSupported from that peer is a new session (a
 *     client that reconnects from the same socket, as KgdbOe's tests do
 *     from a fixed port, says it first), never a copy from the session's
 *     end: gdb sends it once, at the start.
 *   - In the same window a "?" opens nothing from anybody: a lone status
 *     query right after a detach is far more likely a copy from a relay
 *     or another path than a new debugger, and a new debugger says
 *     qSupported first. After the window "?" opens again.
 *   - While a session is attached, a datagram from another host:port is
 *     ignored, except a qSupported once the attached peer has been silent
 *     for KGDBOE_TAKEOVER_NS (a gdb that was killed must not leave the
 *     kernel stopped for good; a live one is never disturbed).
 *   - From the attached peer while stopped: a copy of the last request
 *     queued for the stub, with no ack from the peer in between, is
 *     dropped, unless the stub NAKed it or it found no room in the ring
 *     (kgdboe_session_request_lost()): then the copy is a real resend.
 *     gdb resends a request when no '+' came within its remotetimeout (2 s;
 *     under load a stop or an answer takes longer), and the stub would
 *     answer each copy: gdb then takes the second answer for the answer
 *     to its next request, and the conversation stays one behind for good
 *     (what made stock gdb's hit loop go in circles on a loaded machine).
 *     gdb sends a new request only after it read and acked the previous
 *     answer, so a copy that arrives before that ack (two copies in one
 *     poll, or one while the stub works or waits) is always a resend;
 *     a datagram that starts with '+' (an ack, KgdbOe's client sends one
 *     in front of each request) is never taken for one. If the answer was
 *     lost, the re-NAK (kgdboe_net.c) sends it again.
 *   - From the attached peer: everything while stopped goes to the stub,
 *     but an opener only once per session; while running only a 0x03
 *     matters (a break-in request). gdb resends qSupported when its
 *     answer is slow (the first stop of a session can take seconds), and a
 *     lossy link duplicates: a copy that reaches the stub after gdb acked
 *     the first answer gets an answer of its own, which gdb then takes for
 *     the answer to its next request, and every answer after it is one
 *     behind (issue 14). No client sends qSupported twice in a session,
 *     and a second '?' would also clear every breakpoint (gdbstub.c,
 *     gdb_cmd_status), so a second opener is a copy and is dropped.
 *
 * Context: kgdboe_session_rx() runs in the rx_handler (softirq, running)
 * or on the debugger CPU (stopped); kgdboe_session_end() on the debugger
 * CPU in post_exception. Lock rule: every function here is called with
 * kgdboe_net.c's rx_lock held, and that lock guards kgdboe_peer and
 * ended below.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "kgdboe.h"

#define KGDBOE_TAKEOVER_NS	(10 * NSEC_PER_SEC)
#define KGDBOE_LINGER_NS	(10 * NSEC_PER_SEC)

/* Guarded by rx_lock (see above). */
struct kgdboe_peer kgdboe_peer;

/*
 * The openers (BIT(FIRST_HELLO), BIT(FIRST_STATUS)) this session has
 * queued for the stub; guarded by rx_lock.
 */
static unsigned int openers_seen;

/*
 * The last request queued for the stub from the attached peer (checksum and
 * body length), valid until the peer acks an answer ('+'), the stub NAKs
 * what it read, or the ring had no room for it; guarded by rx_lock.
 */
static struct {
	bool valid;
	u8 sum;
	unsigned int len;
} queued;

/* When the last session ended; guarded by rx_lock. */
static struct {
	bool valid;
	u64 at;		/* ktime_get_mono_fast_ns() */
} ended;

static const char kgdboe_hello[] = "qSupported";

/* What the first complete packet of a datagram is. */
enum kgdboe_first {
	FIRST_NONE,	/* no packet with a right checksum */
	FIRST_HELLO,	/* qSupported... */
	FIRST_STATUS,	/* ? */
	FIRST_OTHER,	/* any other packet */
};

/* Does the payload hold a 0x03 (gdb's interrupt request)? */
static bool has_break(const struct sk_buff *skb, unsigned int off,
		      unsigned int len)
{
	u8 buf[64];
	unsigned int chunk;

	while (len) {
		chunk = min_t(unsigned int, len, sizeof(buf));
		if (skb_copy_bits(skb, off, buf, chunk))
			return false;
		if (memchr(buf, 0x03, chunk))
			return true;
		off += chunk;
		len -= chunk;
	}
	return false;
}

/*
 * What the payload's first packet with a right checksum is; *lead is its
 * first byte, *sum_out and *len_out the packet's checksum and body length.
 */
static enum kgdboe_first scan_packet(const struct sk_buff *skb,
				     unsigned int off, unsigned int len,
				     u8 *lead, u8 *sum_out,
				     unsigned int *len_out)
{
	enum { IDLE, BODY, SUM_HI, SUM_LO } state = IDLE;
	const unsigned int hello_len = sizeof(kgdboe_hello) - 1;
	u8 buf[64], sum = 0, sum_in = 0, first = 0;
	unsigned int chunk, i, body = 0;
	bool hello = false;
	int digit;

	*lead = 0;
	if (len && skb_copy_bits(skb, off, lead, 1))
		return FIRST_NONE;
	while (len) {
		chunk = min_t(unsigned int, len, sizeof(buf));
		if (skb_copy_bits(skb, off, buf, chunk))
			return FIRST_NONE;
		for (i = 0; i < chunk; i++) {
			digit = hex_to_bin(buf[i]);
			if (buf[i] == '$') {
				state = BODY;
				sum = 0;
				body = 0;
				first = 0;
				hello = true;
			} else if (state == BODY && buf[i] == '#') {
				state = SUM_HI;
				hello &= body >= hello_len;
			} else if (state == BODY) {
				if (!body)
					first = buf[i];
				sum += buf[i];
				if (body < hello_len && buf[i] != kgdboe_hello[body])
					hello = false;
				body++;
			} else if (state == SUM_HI && digit >= 0) {
				sum_in = digit << 4;
				state = SUM_LO;
			} else if (state == SUM_LO && digit >= 0) {
				if ((sum_in | digit) == sum)
					goto complete;
				state = IDLE;
			} else {
				state = IDLE;
			}
		}
		off += chunk;
		len -= chunk;
	}
	return FIRST_NONE;

complete:
	*sum_out = sum;
	*len_out = body;
	if (hello)
		return FIRST_HELLO;
	return body == 1 && first == '?' ? FIRST_STATUS : FIRST_OTHER;
}

static bool lingering(u64 now)
{
	return ended.valid && now - ended.at < KGDBOE_LINGER_NS;
}

static void attach(const struct sk_buff *skb, __be32 saddr, __be16 sport,
		   u64 now, const char *how)
{
	kgdboe_peer.attached = true;
	kgdboe_peer.ip = saddr;
	kgdboe_peer.port = sport;
	ether_addr_copy(kgdboe_peer.mac, eth_hdr(skb)->h_source);
	kgdboe_peer.heard = now;
	queued.valid = false;
	pr_info("peer %pI4:%u %s\n", &saddr, ntohs(sport), how);
}

/* May this datagram open a session now? Nobody is attached. */
static bool opens(enum kgdboe_first first, u64 now)
{
	if (lingering(now) && first == FIRST_STATUS)
		return false;
	return first == FIRST_HELLO || first == FIRST_STATUS;
}

static enum kgdboe_first scan(const struct sk_buff *skb, unsigned int off,
			      unsigned int len)
{
	unsigned int body;
	u8 lead, sum;

	return scan_packet(skb, off, len, &lead, &sum, &body);
}

/*
 * The attached peer's datagram while stopped: a copy of the request in
 * flight, or a repeated opener, is dropped.
 */
static enum kgdboe_rx stopped_rx(const struct sk_buff *skb, unsigned int off,
				 unsigned int len)
{
	enum kgdboe_first first;
	unsigned int body;
	u8 lead, sum;

	first = scan_packet(skb, off, len, &lead, &sum, &body);
	if (lead == '+')
		queued.valid = false;
	if (first != FIRST_NONE) {
		if (lead == '$' && queued.valid && sum == queued.sum &&
		    body == queued.len)
			return KGDBOE_RX_DROP;
		queued.valid = true;
		queued.sum = sum;
		queued.len = body;
	}
	if (first != FIRST_HELLO && first != FIRST_STATUS)
		return KGDBOE_RX_QUEUE;
	if (openers_seen & BIT(first))
		return KGDBOE_RX_DROP;
	openers_seen |= BIT(first);
	return KGDBOE_RX_QUEUE;
}

enum kgdboe_rx kgdboe_session_rx(const struct sk_buff *skb, __be32 saddr,
				 __be16 sport, unsigned int off,
				 unsigned int len, bool stopped, bool closing)
{
	u64 now = ktime_get_mono_fast_ns();
	enum kgdboe_first first;

	if (kgdboe_peer.attached && kgdboe_peer.ip == saddr &&
	    kgdboe_peer.port == sport) {
		kgdboe_peer.heard = now;
		if (stopped)
			return stopped_rx(skb, off, len);
		/* While running, only an interrupt request matters. */
		return has_break(skb, off, len) ? KGDBOE_RX_BREAK :
						  KGDBOE_RX_DROP;
	}
	if (closing)
		return KGDBOE_RX_DROP;
	first = scan(skb, off, len);
	if (!kgdboe_peer.attached) {
		if (!opens(first, now))
			return KGDBOE_RX_DROP;
		attach(skb, saddr, sport, now, "attached");
		openers_seen = BIT(first);
		return KGDBOE_RX_ATTACH;
	}
	if (first == FIRST_HELLO &&
	    now - kgdboe_peer.heard >= KGDBOE_TAKEOVER_NS) {
		/*
		 * A new gdb from another port, and the attached one has been
		 * silent long enough to count as gone (killed, or its socket
		 * closed): it would otherwise leave the kernel stopped for
		 * good.
		 */
		attach(skb, saddr, sport, now, "took over");
		openers_seen = BIT(first);
		return KGDBOE_RX_TAKEOVER;
	}
	/* Anything else from another host or port is ignored. */
	return KGDBOE_RX_DROP;
}

/*
 * The stub never took the last queued request: it NAKed what it read (a
 * bad checksum, or a '$' that ended its wait for an ack and was eaten by
 * it, gdbstub.c put_packet()), or the ring had no room for it. The peer's
 * next copy is then the resend gdb makes after a '-', not a duplicate, and
 * must reach the stub: dropped, it left the stub waiting for an ack and
 * the peer for an answer, for good (10,000 junk datagrams from the peer,
 * then gdb's D resent every 300 ms, answered only with the stub's resends
 * of its last reply).
 */
void kgdboe_session_request_lost(void)
{
	queued.valid = false;
}

void kgdboe_session_end(void)
{
	if (!kgdboe_peer.attached)
		return;
	pr_info("peer %pI4:%u detached\n", &kgdboe_peer.ip,
		ntohs(kgdboe_peer.port));
	kgdboe_peer.attached = false;
	ended.valid = true;
	ended.at = ktime_get_mono_fast_ns();
}

/* Process context, at load. */
void kgdboe_session_log_mode(void)
{
	pr_warn("raw mode (no key): anyone who can reach UDP port %u on %pI4 can stop this kernel and read and write its memory\n",
		kgdboe_cfg.port, &kgdboe_cfg.local_ip);
}
