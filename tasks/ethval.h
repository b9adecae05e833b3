/*
 * ethval.h: checks and conversions of the values JSON-RPC returns: hex
 * quantities to exact decimal (uint256 and beyond, no floating point),
 * hex data and hashes, addresses (lower-cased as ethereum-etl writes them),
 * 32-byte words of log data and ABI return values.
 *
 * Every check returns 0 when the value is well formed and -1 otherwise, so a
 * caller can reject a response instead of writing a guessed row.
 */
#ifndef STA_ETHVAL_H
#define STA_ETHVAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* A quantity: "0x" then 1..64+ hex digits (no leading zeros needed). */
int ethval_is_quantity(const char *s);
/* Hex data: "0x" then an even number of hex digits ("0x" alone is empty). */
int ethval_is_data(const char *s);
/* Data of exactly n bytes (a 32-byte hash: n = 32; an address: n = 20). */
int ethval_is_data_n(const char *s, size_t nbytes);

/* Appends the decimal form of a hex quantity to b; -1 if s is malformed
 * or wider than 256 bits (64 hex digits after leading zeros). */
int ethval_hex_to_dec(struct buf *b, const char *s);
/* Returns the decimal form of a hex quantity (caller frees), NULL if bad. */
char *ethval_dec(const char *hex);
/* Parses a quantity that fits in 64 bits; -1 if malformed or too big. */
int ethval_u64(const char *hex, uint64_t *out);

/* Returns a lower-cased copy of a 20-byte address (caller frees), NULL if
 * s is not "0x" + 40 hex digits. */
char *ethval_address(const char *s);
/* Returns "0x" + the last 40 hex digits of a 32-byte word as an address
 * (caller frees), as ethereum-etl's word_to_address does; NULL if the
 * word is not "0x" + 64 hex digits. */
char *ethval_word_to_address(const char *word);

/* Splits hex data (after "0x") into 32-byte words, each "0x" + 64 digits;
 * a trailing partial word is kept as it is, as ethereum-etl's
 * split_to_words does.  Returns the number of words pushed, -1 if the data
 * is malformed. */
int ethval_split_words(const char *data, struct strv *out);

/* Decodes hex data into bytes (caller frees *out); -1 if malformed. */
int ethval_unhex(const char *s, unsigned char **out, size_t *len);

/* Python's repr() of the float in s (as ethereum-etl writes l1_fee_scalar);
 * caller frees; NULL if s is not a finite number in decimal. */
char *ethval_py_float(const char *s);
/* The same for a number already parsed. */
char *ethval_py_float_of(double v);

#endif
