/*
 * keccak.c: the Keccak-256 sponge (rate 136 bytes) over nettle's
 * Keccak-f[1600] permutation (see keccak.h).
 */
#include "lib/keccak.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha3.h>

#include "lib/util.h"

#define RATE 136

/* XORs n bytes into the state, lanes little-endian as Keccak defines. */
static void
absorb(struct sha3_state *st, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st->a[i / 8] ^= (uint64_t)p[i] << (8 * (i % 8));
}

void
keccak256(const void *data, size_t len, unsigned char out[32])
{
	struct sha3_state st;
	const unsigned char *p = data;
	unsigned char last[RATE];

	memset(&st, 0, sizeof(st));
	for (; len >= RATE; p += RATE, len -= RATE) {
		absorb(&st, p, RATE);
		sha3_permute(&st);
	}
	memset(last, 0, sizeof(last));
	memcpy(last, p, len);
	last[len] ^= 0x01;
	last[RATE - 1] ^= 0x80;
	absorb(&st, last, RATE);
	sha3_permute(&st);
	for (size_t i = 0; i < 32; i++)
		out[i] = (unsigned char)(st.a[i / 8] >> (8 * (i % 8)));
}

void
keccak256_hex(const char *s, char out[67])
{
	unsigned char h[32];

	keccak256(s, strlen(s), h);
	out[0] = '0';
	out[1] = 'x';
	hex_encode(h, sizeof(h), out + 2);
}

void
keccak_selector(const char *signature, char out[11])
{
	char full[67];

	keccak256_hex(signature, full);
	memcpy(out, full, 10);
	out[10] = '\0';
}
