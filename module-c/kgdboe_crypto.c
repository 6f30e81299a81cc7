// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 wire's cryptography: ChaCha20-Poly1305 (RFC 8439) and a keyed
 * BLAKE2s key derivation, from the kernel's lib/crypto.
 *
 * Owns: nothing but code; every state lives on the caller's stack.
 *
 * Context: any, stopped included (NMI context, interrupts off). That is
 * why the AEAD is built here from the generic primitives instead of
 * calling chacha20poly1305_encrypt(): on x86 that one dispatches to the
 * SIMD code, which asks irq_fpu_usable(), and that is WARN_ON_ONCE(in_nmi())
 * in 6.12 (arch/x86/kernel/fpu/core.c). The construction is exactly the one
 * of lib/crypto/chacha20poly1305.c: block 0 of the ChaCha20 stream keys
 * Poly1305, the text is encrypted from block 1, the MAC covers
 * ad || pad16 || ciphertext || pad16 || le64(ad_len) || le64(text_len).
 * The kernel's u64 nonce is RFC 8439's 96-bit nonce 0^32 || le64(nonce).
 * Nothing here allocates or sleeps.
 */
#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha.h>
#include <crypto/poly1305.h>
#include <linux/string.h>

#include "kgdboe.h"

/* out = BLAKE2s-256(key, label || a || b || c): a PRF when keyed. */
void kgdboe_kdf(u8 out[KGDBOE_KEY_SIZE], const u8 key[KGDBOE_KEY_SIZE],
		const char *label, const u8 *a, size_t a_len, const u8 *b,
		size_t b_len, const u8 *c, size_t c_len)
{
	struct blake2s_state s;

	blake2s_init_key(&s, KGDBOE_KEY_SIZE, key, KGDBOE_KEY_SIZE);
	blake2s_update(&s, (const u8 *)label, strlen(label));
	if (a_len)
		blake2s_update(&s, a, a_len);
	if (b_len)
		blake2s_update(&s, b, b_len);
	if (c_len)
		blake2s_update(&s, c, c_len);
	blake2s_final(&s, out);
}

#if KGDBOE_HAVE_CRYPTO

#define KEY_WORDS	(KGDBOE_KEY_SIZE / 4)

static const u8 zeros[16];

static void chacha20_start(u32 *state, const u8 key[KGDBOE_KEY_SIZE],
			   u64 nonce)
{
	u32 k[KEY_WORDS];
	u8 iv[CHACHA_IV_SIZE];
	__le64 n = cpu_to_le64(nonce);
	unsigned int i;

	for (i = 0; i < KEY_WORDS; i++)
		k[i] = le32_to_cpup((const __le32 *)(key + 4 * i));
	memset(iv, 0, 8);		/* block counter 0, nonce's zero word */
	memcpy(iv + 8, &n, 8);
	chacha_init_generic(state, k, iv);
	memzero_explicit(k, sizeof(k));
}

/*
 * Takes the Poly1305 key from ChaCha20 block 0 (state then stands at
 * block 1, where the text starts, as in lib/crypto) and computes the tag
 * of ad || ad2 || pad16 || ciphertext || pad16 || le64 lengths.
 */
static void tag_of(u8 tag[KGDBOE_TAG_SIZE], u32 *state, const u8 *ad,
		   size_t ad_len, const u8 *ad2, size_t ad2_len,
		   const u8 *text, size_t len)
{
	struct poly1305_desc_ctx poly;
	u8 block0[POLY1305_KEY_SIZE];
	__le64 lens[2];
	size_t all_ad = ad_len + ad2_len;

	memset(block0, 0, sizeof(block0));
	chacha_crypt_generic(state, block0, block0, sizeof(block0), 20);
	poly1305_init_generic(&poly, block0);
	poly1305_update_generic(&poly, ad, ad_len);
	if (ad2_len)
		poly1305_update_generic(&poly, ad2, ad2_len);
	if (all_ad & 0xf)
		poly1305_update_generic(&poly, zeros, 0x10 - (all_ad & 0xf));
	if (len)
		poly1305_update_generic(&poly, text, len);
	if (len & 0xf)
		poly1305_update_generic(&poly, zeros, 0x10 - (len & 0xf));
	lens[0] = cpu_to_le64(all_ad);
	lens[1] = cpu_to_le64(len);
	poly1305_update_generic(&poly, (const u8 *)lens, sizeof(lens));
	poly1305_final_generic(&poly, tag);
	memzero_explicit(block0, sizeof(block0));
	memzero_explicit(&poly, sizeof(poly));
}

/*
 * Encrypts text[0..len) in place and writes the tag at text + len.
 * ad and ad2 are authenticated as one string (ad2 may be NULL).
 */
void kgdboe_aead_seal(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE])
{
	u32 state[CHACHA_STATE_WORDS];
	u32 text_state[CHACHA_STATE_WORDS];

	chacha20_start(state, key, nonce);
	/* The text is encrypted from block 1; block 0 keys Poly1305. */
	memcpy(text_state, state, sizeof(state));
	text_state[12]++;
	if (len)
		chacha_crypt_generic(text_state, text, text, len, 20);
	tag_of(text + len, state, ad, ad_len, ad2, ad2_len, text, len);
	memzero_explicit(state, sizeof(state));
	memzero_explicit(text_state, sizeof(text_state));
}

/*
 * Checks the tag at text + len over ad, ad2 and the ciphertext, and only
 * then decrypts in place. False (text untouched) if it does not open.
 */
bool kgdboe_aead_open(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE])
{
	u32 state[CHACHA_STATE_WORDS];
	u8 tag[KGDBOE_TAG_SIZE];
	bool ok;

	chacha20_start(state, key, nonce);
	tag_of(tag, state, ad, ad_len, ad2, ad2_len, text, len);
	ok = !crypto_memneq(tag, text + len, KGDBOE_TAG_SIZE);
	if (ok && len)
		chacha_crypt_generic(state, text, text, len, 20);
	memzero_explicit(state, sizeof(state));
	memzero_explicit(tag, sizeof(tag));
	return ok;
}

#else	/* no generic ChaCha20/Poly1305: kgdboe_wire_init() refuses a key */

void kgdboe_aead_seal(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE])
{
}

bool kgdboe_aead_open(u8 *text, size_t len, const u8 *ad, size_t ad_len,
		      const u8 *ad2, size_t ad2_len, u64 nonce,
		      const u8 key[KGDBOE_KEY_SIZE])
{
	return false;
}

#endif
