// SPDX-License-Identifier: GPL-2.0
/*
 * The keyed v2 wire (docs/wire-v2.md): every datagram authenticated and
 * encrypted with a per-session key, a reliable ordered byte stream for the
 * stub both ways, and the fast memory read.
 *
 * Owns: the pre-shared key (module parameter "key", 0400, never shown),
 * the handshake's pending challenges, the one session, the segments the
 * stub sent that the client has not acked, the queue of memory reads and
 * the drop counter (parameter "v2_dropped", 0444).
 *
 * With a key, kgdboe_net.c hands every datagram to our port to
 * kgdboe_wire_rx() and nothing else: what does not open under the session
 * key (or, for a HELLO, under the key derived for HELLOs) is counted and
 * dropped before anything looks at it. Only an authenticated session puts
 * bytes in the stub's ring or asks for a break-in.
 *
 * Contexts:
 *   kgdboe_wire_rx    the rx_handler: softirq (running) or the debugger
 *                     CPU (stopped, inside our own NAPI poll).
 *   kgdboe_wire_write the stub's flush; stopped.
 *   kgdboe_wire_idle  read_char with nothing to read; stopped. Sends due
 *                     acks, resends unacked segments, serves memory reads
 *                     (outside the NAPI poll, so the TX pool can be reaped).
 * Nothing here allocates: buffers are static, the crypto runs on the stack.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "kgdboe.h"

#define WIRE_MAGIC0		0x4b	/* 'K' */
#define WIRE_MAGIC1		0x57	/* 'W' */
#define WIRE_VERSION		2
#define WIRE_NONCE_SIZE		16
#define WIRE_CHALLENGES		4
#define WIRE_TX_WINDOW		16	/* unacked segments; power of two */
#define WIRE_MEM_QUEUE		32	/* pending reads; power of two */
#define WIRE_MEM_MAX		65536	/* bytes per read request */
#define WIRE_REPLAY_BITS	64
/* Resend timeout (RFC 6298): this until a round trip is measured, then srtt + 4 rttvar. */
#define WIRE_RTO_INIT_NS	(250 * NSEC_PER_MSEC)
#define WIRE_RTO_FLOOR_NS	(30 * NSEC_PER_MSEC)
#define WIRE_RTO_MAX_NS		(2 * NSEC_PER_SEC)
#define WIRE_WAIT_NS		(30 * NSEC_PER_SEC)	/* full window */
#define WIRE_POLL_US		10	/* stopped: busy-wait only */
#define WIRE_DIR_MODULE		BIT_ULL(32)	/* nonce: module to client */
#define WIRE_DROP_LOG_NS	(60ULL * NSEC_PER_SEC)
/* A stopped kernel acks alone only after this: the stub's reply usually carries it. */
#define WIRE_ACK_DELAY_NS	(20 * NSEC_PER_MSEC)

enum wire_channel { CH_CONTROL, CH_STREAM, CH_MEMORY };
enum wire_control { T_HELLO = 1, T_CHALLENGE, T_PROOF, T_ACCEPT, T_CLOSE };
enum wire_stream { T_DATA = 1, T_ACK };
enum wire_memory { T_READ = 1, T_MEMDATA };

struct wire_hdr {
	u8 magic[2];
	u8 version;
	u8 channel;
	u8 type;
	u8 flags;
	__le16 len;	/* body bytes, between header and tag */
	__le32 sid;
	__le32 pn;	/* packet number: the AEAD nonce's low half */
	__le32 seq;
	__le32 ack;
} __packed;

static const char hello_label[] = "kgdboe v2 hello";
static const char session_label[] = "kgdboe v2 session";
static const char nonce_label[] = "kgdboe v2 module nonce";
static const u8 close_detach[] = "+$D#44+";

/* Set once at load (process context), read-only afterwards. */
static u8 psk[KGDBOE_KEY_SIZE];
static bool keyed;
static u8 hello_key[KGDBOE_KEY_SIZE];
static u8 nonce_seed[KGDBOE_KEY_SIZE];	/* random, drawn at load */

/* Unauthenticated or otherwise refused datagrams; any context. */
static atomic_long_t dropped = ATOMIC_LONG_INIT(0);
static long dropped_logged;	/* softirq only, under wire_lock */
static u64 dropped_log_at;	/* same */

struct wire_challenge {
	bool used;
	u32 sid;
	u8 nc[WIRE_NONCE_SIZE];
	u8 key[KGDBOE_KEY_SIZE];
};

struct wire_session {
	bool active;
	u32 sid;
	u8 key[KGDBOE_KEY_SIZE];
	struct kgdboe_dest peer;	/* follows its latest good datagram */
	u32 tx_pn;		/* next packet number we send */
	u32 rx_pn_max;		/* highest packet number accepted */
	u64 rx_pn_seen;		/* bit i: rx_pn_max - i accepted */
	u32 rx_next;		/* next stream segment expected */
	bool ack_due;		/* a segment came that no datagram acked yet */
	u64 ack_due_since;	/* when ack_due was set */
	u32 tx_una;		/* oldest segment not acked */
	u32 tx_next;		/* next segment number */
	u64 tx_sent;		/* when the oldest unacked one went out */
	u64 rto;		/* current resend timeout, ns */
	u64 srtt;		/* smoothed round trip, ns; 0: none measured */
	u64 rttvar;		/* its mean deviation, ns */
	u32 timed_seq;		/* the segment whose ack is being timed */
	u64 timed_at;		/* when it went out; 0: none is timed */
};

struct wire_segment {
	u16 len;
	u8 data[KGDBOE_TX_PAYLOAD];
};

struct wire_read {
	u32 tag;
	u64 addr;
	u32 len;
};

/*
 * Lock rule: wire_lock guards everything below (and dropped_log*). While
 * running it is taken in softirq only (the rx_handler). While stopped the
 * debugger CPU only trylocks it, as rx_lock in kgdboe_net.c: no frozen CPU
 * can hold it (they are kept out of the NAPI polls), but if it is busy the
 * datagram is dropped and the peer resends.
 */
static DEFINE_SPINLOCK(wire_lock);
static struct wire_challenge challenges[WIRE_CHALLENGES];
static unsigned int challenge_next;
static u64 challenge_counter;
static struct wire_session sess;
static struct wire_segment tx_seg[WIRE_TX_WINDOW];
static struct wire_read reads[WIRE_MEM_QUEUE];
static unsigned int reads_head, reads_tail;
/* Receive buffer and the replies sent from the rx_handler. */
static u8 rx_buf[KGDBOE_TX_PAYLOAD + KGDBOE_WIRE_OVERHEAD];
static u8 rx_out[KGDBOE_TX_PAYLOAD + KGDBOE_WIRE_OVERHEAD];

/*
 * What the debugger CPU sends outside the rx_handler (write and idle):
 * filled under wire_lock, sent after it is dropped, so a nested poll of
 * the NIC (the TX pool full) can still take datagrams in. Debugger CPU only.
 */
static u8 tx_out[KGDBOE_TX_PAYLOAD + KGDBOE_WIRE_OVERHEAD];

static int psk_set(const char *val, const struct kernel_param *kp)
{
	char *text = (char *)val;	/* our copy of the load arguments */
	size_t len = strlen(text);
	int err = 0;

	if (len && text[len - 1] == '\n')
		len--;
	if (!len) {
		keyed = false;
		return 0;
	}
	if (len != 2 * KGDBOE_KEY_SIZE || hex2bin(psk, text, KGDBOE_KEY_SIZE)) {
		pr_err("key must be %d hex digits\n", 2 * KGDBOE_KEY_SIZE);
		err = -EINVAL;
	} else {
		keyed = true;
	}
	/* The key is not kept in the module's argument string. */
	memzero_explicit(text, strlen(text));
	return err;
}

static int psk_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", keyed ? "set" : "none");
}

static const struct kernel_param_ops psk_ops = {
	.set = psk_set,
	.get = psk_get,
};

module_param_cb(key, &psk_ops, NULL, 0400);
MODULE_PARM_DESC(key,
		 "Pre-shared key, 64 hex digits: only the keyed v2 wire (default: none, raw GDB over UDP)");

static int dropped_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&dropped));
}

static const struct kernel_param_ops dropped_ops = {
	.get = dropped_get,
};

module_param_cb(v2_dropped, &dropped_ops, NULL, 0444);
MODULE_PARM_DESC(v2_dropped,
		 "Datagrams the v2 wire dropped (did not authenticate, replayed, unknown session)");

bool kgdboe_wire_keyed(void)
{
	return keyed;
}

static void drop(void)
{
	atomic_long_inc(&dropped);
}

/* At most one line a minute, and only while running; wire_lock held. */
static void log_drops_locked(void)
{
	long now_dropped = atomic_long_read(&dropped);
	u64 now = ktime_get_mono_fast_ns();

	if (now_dropped == dropped_logged || now - dropped_log_at < WIRE_DROP_LOG_NS)
		return;
	pr_info("v2: dropped %ld datagrams that did not authenticate (%ld in all)\n",
		now_dropped - dropped_logged, now_dropped);
	dropped_logged = now_dropped;
	dropped_log_at = now;
}

static void hdr_fill(struct wire_hdr *h, u8 channel, u8 type, u16 len,
		     u32 sid, u32 pn, u32 seq, u32 ack)
{
	h->magic[0] = WIRE_MAGIC0;
	h->magic[1] = WIRE_MAGIC1;
	h->version = WIRE_VERSION;
	h->channel = channel;
	h->type = type;
	h->flags = 0;
	h->len = cpu_to_le16(len);
	h->sid = cpu_to_le32(sid);
	h->pn = cpu_to_le32(pn);
	h->seq = cpu_to_le32(seq);
	h->ack = cpu_to_le32(ack);
}

/*
 * Builds a session datagram in buf: header, body (already at
 * buf + KGDBOE_WIRE_HDR, len bytes), tag. Takes the next packet number.
 * Returns the datagram's length. wire_lock held.
 */
static unsigned int seal_locked(u8 *buf, u8 channel, u8 type,
				unsigned int len, u32 seq)
{
	struct wire_hdr *h = (struct wire_hdr *)buf;
	u32 pn = sess.tx_pn++;

	hdr_fill(h, channel, type, len, sess.sid, pn, seq, sess.rx_next);
	kgdboe_aead_seal(buf + KGDBOE_WIRE_HDR, len, buf, KGDBOE_WIRE_HDR,
			 NULL, 0, WIRE_DIR_MODULE | pn, sess.key);
	if (channel == CH_STREAM)
		sess.ack_due = false;
	return KGDBOE_WIRE_HDR + len + KGDBOE_TAG_SIZE;
}

/* A fresh module nonce and session id; wire_lock held. */
static void new_challenge_locked(u8 nm[WIRE_NONCE_SIZE], u32 *sid)
{
	u8 out[KGDBOE_KEY_SIZE];
	__le64 counter = cpu_to_le64(challenge_counter++);

	kgdboe_kdf(out, nonce_seed, nonce_label, (const u8 *)&counter,
		   sizeof(counter), NULL, 0, NULL, 0);
	memcpy(nm, out, WIRE_NONCE_SIZE);
	memcpy(sid, out + WIRE_NONCE_SIZE, sizeof(*sid));
	*sid = le32_to_cpu((__force __le32)*sid) | 1;	/* never 0 */
	memzero_explicit(out, sizeof(out));
}

/* HELLO: answer with a CHALLENGE; nothing else changes. */
static void rx_hello_locked(const struct wire_hdr *h, unsigned int len,
			    const struct kgdboe_dest *from, bool stopped)
{
	struct wire_challenge *c;
	struct wire_hdr *out = (struct wire_hdr *)rx_out;
	u64 nonce = le32_to_cpu(h->seq) | (u64)le32_to_cpu(h->ack) << 32;
	u8 *nc = rx_buf + KGDBOE_WIRE_HDR;
	u8 *nm = rx_out + KGDBOE_WIRE_HDR;
	__le32 sid_le;
	u32 sid;

	if (h->sid || h->pn || len != WIRE_NONCE_SIZE ||
	    !kgdboe_aead_open(nc, len, rx_buf, KGDBOE_WIRE_HDR, NULL, 0,
			      nonce, hello_key)) {
		drop();
		return;
	}
	c = &challenges[challenge_next++ % WIRE_CHALLENGES];
	new_challenge_locked(nm, &sid);
	sid_le = cpu_to_le32(sid);
	c->used = true;
	c->sid = sid;
	memcpy(c->nc, nc, WIRE_NONCE_SIZE);
	kgdboe_kdf(c->key, psk, session_label, nc, WIRE_NONCE_SIZE, nm,
		   WIRE_NONCE_SIZE, (const u8 *)&sid_le, sizeof(sid_le));

	/* Tag over header || Nm || Nc: proves the key, binds this HELLO. */
	hdr_fill(out, CH_CONTROL, T_CHALLENGE, WIRE_NONCE_SIZE, sid, 0, 0,
		 0);
	kgdboe_aead_seal(nm + WIRE_NONCE_SIZE, 0, rx_out,
			 KGDBOE_WIRE_HDR + WIRE_NONCE_SIZE, c->nc,
			 WIRE_NONCE_SIZE, WIRE_DIR_MODULE, c->key);
	kgdboe_net_send(from, rx_out, KGDBOE_WIRE_HDR + WIRE_NONCE_SIZE +
			KGDBOE_TAG_SIZE, stopped);
}

static void send_control_locked(u8 type, bool stopped)
{
	unsigned int n = seal_locked(rx_out, CH_CONTROL, type, 0, 0);

	kgdboe_net_send(&sess.peer, rx_out, n, stopped);
}

static void send_ack_locked(bool stopped)
{
	unsigned int n = seal_locked(rx_out, CH_STREAM, T_ACK, 0, 0);

	kgdboe_net_send(&sess.peer, rx_out, n, stopped);
}

/* PROOF: the client holds the key and answered this challenge. */
static void rx_proof_locked(const struct wire_hdr *h, unsigned int len,
			    const struct kgdboe_dest *from, bool stopped)
{
	u32 sid = le32_to_cpu(h->sid);
	struct wire_challenge *c = NULL;
	unsigned int i;

	if (h->pn || len) {
		drop();
		return;
	}
	/* A resent PROOF of the live session: its ACCEPT was lost. */
	if (sess.active && sess.sid == sid &&
	    kgdboe_aead_open(rx_buf + KGDBOE_WIRE_HDR, 0, rx_buf,
			     KGDBOE_WIRE_HDR, NULL, 0, 0, sess.key)) {
		send_control_locked(T_ACCEPT, stopped);
		return;
	}
	for (i = 0; i < WIRE_CHALLENGES; i++)
		if (challenges[i].used && challenges[i].sid == sid)
			c = &challenges[i];
	if (!c || !kgdboe_aead_open(rx_buf + KGDBOE_WIRE_HDR, 0, rx_buf,
				    KGDBOE_WIRE_HDR, NULL, 0, 0, c->key)) {
		drop();
		return;
	}
	if (sess.active)
		pr_info("v2: session %08x replaced by %08x\n", sess.sid, sid);
	memset(&sess, 0, sizeof(sess));
	sess.active = true;
	sess.sid = sid;
	memcpy(sess.key, c->key, KGDBOE_KEY_SIZE);
	memzero_explicit(c, sizeof(*c));
	sess.peer = *from;
	sess.tx_pn = 1;
	sess.rx_pn_seen = 1;	/* packet 0, this PROOF */
	sess.rto = WIRE_RTO_INIT_NS;
	reads_tail = reads_head;
	/* What an older session left for the stub is not this client's. */
	kgdboe_net_discard_input();
	if (!stopped)
		pr_info("v2: session %08x from %pI4:%u\n", sid, &from->ip,
			ntohs(from->port));
	send_control_locked(T_ACCEPT, stopped);
}

/* The replay window: each packet number is taken once; after the tag. */
static bool replay_ok_locked(u32 pn)
{
	u32 shift, back;

	if (pn > sess.rx_pn_max) {
		shift = pn - sess.rx_pn_max;
		sess.rx_pn_seen = shift >= WIRE_REPLAY_BITS ? 0 :
				  sess.rx_pn_seen << shift;
		sess.rx_pn_seen |= 1;
		sess.rx_pn_max = pn;
		return true;
	}
	back = sess.rx_pn_max - pn;
	if (back >= WIRE_REPLAY_BITS || (sess.rx_pn_seen & BIT_ULL(back)))
		return false;
	sess.rx_pn_seen |= BIT_ULL(back);
	return true;
}

/* The resend timeout a new flight starts with; wire_lock held. */
static u64 rto_base_locked(void)
{
	if (!sess.srtt)
		return WIRE_RTO_INIT_NS;
	return clamp_t(u64, sess.srtt + 4 * sess.rttvar, WIRE_RTO_FLOOR_NS,
		       WIRE_RTO_MAX_NS);
}

/* One round trip, RFC 6298's smoothing (gains 1/8 and 1/4); wire_lock held. */
static void rtt_sample_locked(u64 r)
{
	u64 d;

	if (!sess.srtt) {
		sess.srtt = r ? r : 1;
		sess.rttvar = r >> 1;
		return;
	}
	d = sess.srtt > r ? sess.srtt - r : r - sess.srtt;
	sess.rttvar = sess.rttvar - (sess.rttvar >> 2) + (d >> 2);
	sess.srtt = sess.srtt - (sess.srtt >> 3) + (r >> 3);
	if (!sess.srtt)
		sess.srtt = 1;
}

static void rx_ack_locked(u32 ack)
{
	u64 now;

	/* Only an ack of something sent and not yet acked moves us on. */
	if (ack - sess.tx_una - 1 >= sess.tx_next - sess.tx_una)
		return;
	now = ktime_get_mono_fast_ns();
	/* Karn: the timed segment counts only if it was never resent. */
	if (sess.timed_at && sess.timed_seq - sess.tx_una < ack - sess.tx_una) {
		rtt_sample_locked(now - sess.timed_at);
		sess.timed_at = 0;
	}
	sess.tx_una = ack;
	sess.tx_sent = now;
	sess.rto = rto_base_locked();
}

static bool wants_break(const u8 *data, unsigned int len)
{
	return memchr(data, 0x03, len) || memchr(data, '$', len);
}

static void rx_data_locked(const struct wire_hdr *h, unsigned int len,
			   bool stopped)
{
	u8 *body = rx_buf + KGDBOE_WIRE_HDR;

	if (le32_to_cpu(h->seq) == sess.rx_next &&
	    kgdboe_net_deliver(body, len, stopped)) {
		sess.rx_next++;
		if (!stopped && wants_break(body, len))
			kgdboe_net_break();
	}
	/* In order, duplicate or a gap: the sender learns where we are. */
	if (!sess.ack_due)
		sess.ack_due_since = ktime_get_mono_fast_ns();
	sess.ack_due = true;
	if (!stopped)
		send_ack_locked(false);
}

static void rx_read_locked(unsigned int len, bool stopped)
{
	const u8 *body = rx_buf + KGDBOE_WIRE_HDR;
	const struct wire_hdr *h = (const struct wire_hdr *)rx_buf;
	struct wire_read *r;
	__le64 addr;
	__le32 n;

	/* Served only while stopped: a running kernel ignores reads. */
	if (!stopped || len != sizeof(addr) + sizeof(n))
		return;
	if (reads_head - reads_tail >= WIRE_MEM_QUEUE)
		return;		/* the client asks again */
	memcpy(&addr, body, sizeof(addr));
	memcpy(&n, body + sizeof(addr), sizeof(n));
	r = &reads[reads_head++ & (WIRE_MEM_QUEUE - 1)];
	r->tag = le32_to_cpu(h->seq);
	r->addr = le64_to_cpu(addr);
	r->len = min_t(u32, le32_to_cpu(n), WIRE_MEM_MAX);
}

/* A datagram of the live session; wire_lock held. */
static void rx_session_locked(const struct wire_hdr *h, unsigned int len,
			      const struct kgdboe_dest *from, bool stopped)
{
	u32 pn = le32_to_cpu(h->pn);

	if (!sess.active || le32_to_cpu(h->sid) != sess.sid ||
	    !kgdboe_aead_open(rx_buf + KGDBOE_WIRE_HDR, len, rx_buf,
			      KGDBOE_WIRE_HDR, NULL, 0, pn, sess.key) ||
	    !replay_ok_locked(pn)) {
		drop();
		return;
	}
	sess.peer = *from;
	if (h->channel == CH_STREAM) {
		rx_ack_locked(le32_to_cpu(h->ack));
		if (h->type == T_DATA && len)
			rx_data_locked(h, len, stopped);
	} else if (h->channel == CH_MEMORY && h->type == T_READ) {
		rx_read_locked(len, stopped);
	} else if (h->channel == CH_CONTROL && h->type == T_CLOSE) {
		send_control_locked(T_CLOSE, stopped);
		/*
		 * Closed while stopped (the client gave up): the stub gets a
		 * detach of its own, so no kernel stays stopped with nobody
		 * attached. The first '+' ends a wait for the ack of a reply,
		 * the last one acks the detach's OK; what is left is dropped
		 * at resume (no live session).
		 */
		if (stopped)
			kgdboe_net_deliver(close_detach, sizeof(close_detach) - 1,
					   true);
		if (!stopped) {
			/* A break-in it asked for is nobody's now. */
			kgdboe_net_cancel_break();
			pr_info("v2: session %08x closed\n", sess.sid);
		}
		memzero_explicit(&sess, sizeof(sess));
		reads_tail = reads_head;
	}
}

/*
 * Every datagram to our port while keyed. The only way in: what fails
 * here never reaches the ring, the session or a break-in.
 */
void kgdboe_wire_rx(const struct sk_buff *skb, unsigned int off,
		    unsigned int len, const struct kgdboe_dest *from,
		    bool stopped)
{
	const struct wire_hdr *h = (const struct wire_hdr *)rx_buf;
	unsigned int body;

	if (!KGDBOE_HAVE_CRYPTO || len < KGDBOE_WIRE_OVERHEAD ||
	    len > sizeof(rx_buf)) {
		drop();
		return;
	}
	if (stopped) {
		if (!spin_trylock(&wire_lock)) {
			drop();
			return;
		}
	} else {
		spin_lock(&wire_lock);
	}
	body = len - KGDBOE_WIRE_OVERHEAD;
	if (skb_copy_bits(skb, off, rx_buf, len) ||
	    h->magic[0] != WIRE_MAGIC0 || h->magic[1] != WIRE_MAGIC1 ||
	    h->version != WIRE_VERSION || h->flags ||
	    le16_to_cpu(h->len) != body) {
		drop();
	} else if (h->channel == CH_CONTROL && h->type == T_HELLO) {
		rx_hello_locked(h, body, from, stopped);
	} else if (h->channel == CH_CONTROL && h->type == T_PROOF) {
		rx_proof_locked(h, body, from, stopped);
	} else {
		rx_session_locked(h, body, from, stopped);
	}
	if (!stopped)
		log_drops_locked();
	spin_unlock(&wire_lock);
}

bool kgdboe_wire_active(void)
{
	return keyed && READ_ONCE(sess.active);
}

/* Sends tx_out (n bytes) to the peer; wire_lock dropped. Debugger CPU. */
static void send_tx_out(const struct kgdboe_dest *to, unsigned int n)
{
	kgdboe_net_send(to, tx_out, n, true);
}

/* Resends every unacked segment if the oldest waited too long. */
static void resend_due(void)
{
	struct kgdboe_dest to;
	unsigned int n;
	u32 seq, end;
	u64 now;

	if (!spin_trylock(&wire_lock))
		return;
	now = ktime_get_mono_fast_ns();
	if (!sess.active || sess.tx_una == sess.tx_next ||
	    now - sess.tx_sent < sess.rto) {
		spin_unlock(&wire_lock);
		return;
	}
	sess.tx_sent = now;
	sess.rto = min_t(u64, sess.rto * 2, WIRE_RTO_MAX_NS);
	sess.timed_at = 0;	/* its ack could be for either copy */
	end = sess.tx_next;
	spin_unlock(&wire_lock);

	for (seq = READ_ONCE(sess.tx_una); seq != end; seq++) {
		struct wire_segment *s = &tx_seg[seq & (WIRE_TX_WINDOW - 1)];

		if (!spin_trylock(&wire_lock))
			return;
		/* Acked meanwhile, or the session changed. */
		if (!sess.active || seq - sess.tx_una >= sess.tx_next - sess.tx_una) {
			spin_unlock(&wire_lock);
			continue;
		}
		memcpy(tx_out + KGDBOE_WIRE_HDR, s->data, s->len);
		n = seal_locked(tx_out, CH_STREAM, T_DATA, s->len, seq);
		to = sess.peer;
		spin_unlock(&wire_lock);
		send_tx_out(&to, n);
	}
}

static void send_ack_if_due(void)
{
	struct kgdboe_dest to;
	unsigned int n = 0;

	if (!spin_trylock(&wire_lock))
		return;
	if (sess.active && sess.ack_due &&
	    ktime_get_mono_fast_ns() - sess.ack_due_since >= WIRE_ACK_DELAY_NS) {
		n = seal_locked(tx_out, CH_STREAM, T_ACK, 0, 0);
		to = sess.peer;
	}
	spin_unlock(&wire_lock);
	if (n)
		send_tx_out(&to, n);
}

/* Status of a read: 0, or -errno where it stopped. */
static void send_read_piece(const struct kgdboe_dest *to, u32 tag, u32 offset,
			    s32 status, const u8 *data, unsigned int len)
{
	u8 *body = tx_out + KGDBOE_WIRE_HDR;
	__le32 v;
	unsigned int n;

	if (!spin_trylock(&wire_lock))
		return;		/* the client asks again */
	if (!sess.active) {
		spin_unlock(&wire_lock);
		return;
	}
	v = cpu_to_le32(offset);
	memcpy(body, &v, sizeof(v));
	v = cpu_to_le32((u32)status);
	memcpy(body + 4, &v, sizeof(v));
	if (len)
		memcpy(body + 8, data, len);
	n = seal_locked(tx_out, CH_MEMORY, T_MEMDATA, 8 + len, tag);
	spin_unlock(&wire_lock);
	send_tx_out(to, n);
}

/*
 * One read, a page at a time: copy_from_kernel_nofault() so that an
 * unmapped page answers -EFAULT, and everything before it has been sent.
 */
static void serve_read(const struct wire_read *r)
{
	static u8 piece[KGDBOE_TX_PAYLOAD];	/* debugger CPU only */
	unsigned int chunk = kgdboe_net_payload_max() - KGDBOE_WIRE_OVERHEAD - 8;
	struct kgdboe_dest to = sess.peer;
	u32 done = 0, fill, want, n;
	u64 at;

	while (done < r->len) {
		fill = 0;
		want = min_t(u32, chunk, r->len - done);
		while (fill < want) {
			at = r->addr + done + fill;
			/* Up to the end of this page. */
			n = min_t(u64, want - fill,
				  PAGE_SIZE - (at & (PAGE_SIZE - 1)));
			if (copy_from_kernel_nofault(piece + fill,
						     (const void *)(uintptr_t)at, n))
				break;
			fill += n;
		}
		if (fill)
			send_read_piece(&to, r->tag, done, 0, piece, fill);
		done += fill;
		if (fill < want) {
			send_read_piece(&to, r->tag, done, -EFAULT, NULL, 0);
			return;
		}
	}
}

static void serve_reads(void)
{
	struct wire_read r;

	for (;;) {
		if (!spin_trylock(&wire_lock))
			return;
		if (!sess.active || reads_tail == reads_head) {
			spin_unlock(&wire_lock);
			return;
		}
		r = reads[reads_tail++ & (WIRE_MEM_QUEUE - 1)];
		spin_unlock(&wire_lock);
		serve_read(&r);
	}
}

/* read_char found nothing to read. Stopped. */
void kgdboe_wire_idle(void)
{
	if (!kgdboe_wire_active())
		return;
	serve_reads();
	resend_due();
	send_ack_if_due();
}

/*
 * The stub's output, one segment. Waits (polling the NIC) while the window
 * is full; drops the bytes if no session is there to take them. Stopped.
 */
void kgdboe_wire_write(const u8 *data, unsigned int len)
{
	struct wire_segment *s;
	struct kgdboe_dest to;
	u64 start = ktime_get_mono_fast_ns();
	unsigned int n;
	u32 seq;

	for (;;) {
		if (spin_trylock(&wire_lock)) {
			if (!sess.active) {
				spin_unlock(&wire_lock);
				return;
			}
			if (sess.tx_next - sess.tx_una < WIRE_TX_WINDOW)
				break;
			spin_unlock(&wire_lock);
		}
		if (ktime_get_mono_fast_ns() - start > WIRE_WAIT_NS)
			return;		/* the client is gone */
		kgdboe_net_poll();
		resend_due();
		udelay(WIRE_POLL_US);
	}
	seq = sess.tx_next++;
	s = &tx_seg[seq & (WIRE_TX_WINDOW - 1)];
	s->len = len;
	memcpy(s->data, data, len);
	if (sess.tx_next - sess.tx_una == 1) {
		sess.tx_sent = ktime_get_mono_fast_ns();
		sess.rto = rto_base_locked();
	}
	if (!sess.timed_at) {
		sess.timed_seq = seq;
		sess.timed_at = ktime_get_mono_fast_ns();
	}
	memcpy(tx_out + KGDBOE_WIRE_HDR, data, len);
	n = seal_locked(tx_out, CH_STREAM, T_DATA, len, seq);
	to = sess.peer;
	spin_unlock(&wire_lock);
	send_tx_out(&to, n);
}

/*
 * pre_exception, debugger CPU: a stop the module asked for (a session's
 * 0x03 or '$' while running) that finds no session. The session closed
 * while the break-in was on its way (a CLOSE, or an interrupt resent by a
 * client that waited long for the stop, taken after its detach): nobody
 * would ever answer this stop. The stub gets the same detach as a session
 * closed while stopped, and the kernel runs on.
 */
void kgdboe_wire_orphan_stop(void)
{
	if (!keyed || READ_ONCE(sess.active))
		return;
	kgdboe_net_deliver(close_detach, sizeof(close_detach) - 1, true);
}

/* Process context, at load: the derived HELLO key and the nonce seed. */
int kgdboe_wire_init(void)
{
	if (!keyed)
		return 0;
	if (!KGDBOE_HAVE_CRYPTO) {
		pr_err("key given, but this kernel lacks lib/crypto's generic ChaCha20 and Poly1305 (CONFIG_CRYPTO_LIB_CHACHA_GENERIC, CONFIG_CRYPTO_LIB_POLY1305_GENERIC)\n");
		return -EOPNOTSUPP;
	}
	kgdboe_kdf(hello_key, psk, hello_label, NULL, 0, NULL, 0, NULL, 0);
	get_random_bytes(nonce_seed, sizeof(nonce_seed));
	return 0;
}

/* Process context, at unload. */
void kgdboe_wire_exit(void)
{
	memzero_explicit(psk, sizeof(psk));
	memzero_explicit(hello_key, sizeof(hello_key));
	memzero_explicit(nonce_seed, sizeof(nonce_seed));
	memzero_explicit(&sess, sizeof(sess));
	memzero_explicit(challenges, sizeof(challenges));
	memzero_explicit(tx_seg, sizeof(tx_seg));
}
