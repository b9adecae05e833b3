/*
 * keccak.h: Keccak-256, the hash Ethereum uses for event topics, function
 * selectors and addresses.  It is the original Keccak (padding 0x01), not
 * the standardised SHA3-256 (padding 0x06), so the permutation comes from
 * nettle and only the sponge around it is here.
 */
#ifndef STA_KECCAK_H
#define STA_KECCAK_H

#include <stddef.h>

void keccak256(const void *data, size_t len, unsigned char out[32]);
/* Writes "0x" + 64 hex digits of keccak256(s) into out (67 bytes). */
void keccak256_hex(const char *s, char out[67]);
/* Writes the 4-byte selector of a function signature, "0x" + 8 hex
 * digits, into out (11 bytes). */
void keccak_selector(const char *signature, char out[11]);

#endif
