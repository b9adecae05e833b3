/*
 * ethval.c: hex quantities, data, addresses and words (see ethval.h).
 */
#include "tasks/ethval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hex digit values, -1 for every other byte: one load per character in
 * the checks and conversions below, which see every field of every
 * response. */
static const signed char hexval[256] = {
#define X16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
	X16, X16, X16,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, X16,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, X16,
	X16, X16, X16, X16, X16, X16, X16, X16,
#undef X16
};

static int
hexdigit(int c)
{
	return hexval[(unsigned char)c];
}

/* Returns the number of hex digits after "0x", or -1 if s is not "0x"
 * followed only by hex digits. */
static long
hex_body(const char *s)
{
	size_t n;

	if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	for (n = 0; s[2 + n] != '\0'; n++)
		if (hexdigit((unsigned char)s[2 + n]) < 0)
			return -1;
	return (long)n;
}

int
ethval_is_quantity(const char *s)
{
	return hex_body(s) >= 1 ? 0 : -1;
}

int
ethval_is_data(const char *s)
{
	long n = hex_body(s);

	return n >= 0 && n % 2 == 0 ? 0 : -1;
}

int
ethval_is_data_n(const char *s, size_t nbytes)
{
	return hex_body(s) == (long)(2 * nbytes) ? 0 : -1;
}

/* Appends v in decimal, zero-padded to width digits (0: no padding). */
static void
put_dec(struct buf *b, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	buf_append(b, tmp + sizeof(tmp) - n, (size_t)n);
}

/* The digits of a quantity too big for 64 bits, n of them at s. */
static void
put_big_dec(struct buf *b, const char *s, size_t n)
{
	/* Little-endian limbs in base 10^9: each hex digit multiplies the
	 * number by 16 and adds the digit. */
	const uint32_t base = 1000000000u;
	uint32_t *limb = xcalloc(n / 7 + 2, sizeof(*limb));
	size_t used = 1;

	for (size_t i = 0; i < n; i++) {
		uint64_t carry = (uint64_t)hexdigit(s[i]);

		for (size_t k = 0; k < used; k++) {
			uint64_t v = (uint64_t)limb[k] * 16 + carry;

			limb[k] = (uint32_t)(v % base);
			carry = v / base;
		}
		if (carry)
			limb[used++] = (uint32_t)carry;
	}
	put_dec(b, limb[used - 1], 0);
	for (size_t k = used - 1; k-- > 0;)
		put_dec(b, limb[k], 9);
	free(limb);
}

int
ethval_hex_to_dec(struct buf *b, const char *s)
{
	/* One pass over the digits: values of 64 bits, nearly all of them,
	 * are converted as they are checked. */
	uint64_t v = 0;
	size_t i, sig = 0;

	if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	for (i = 2; s[i] != '\0'; i++) {
		int d = hexdigit(s[i]);

		if (d < 0)
			return -1;
		if (sig == 0 && d == 0)
			continue;
		if (++sig > 16)
			break;
		v = v << 4 | (uint64_t)d;
	}
	if (i == 2)
		return -1;
	if (s[i] == '\0') {
		put_dec(b, v, 0);
		return 0;
	}
	if (hex_body(s) < 0)
		return -1;
	/* Skip the leading zeros again: the limbs need only the rest. */
	for (i = 2; s[i] == '0'; i++)
		;
	if (strlen(s + i) > 64)
		return -1;	/* past 256 bits: no such quantity (and the cost grows with the square) */
	put_big_dec(b, s + i, strlen(s + i));
	return 0;
}

char *
ethval_dec(const char *hex)
{
	struct buf b = {0};

	if (ethval_hex_to_dec(&b, hex) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int
ethval_u64(const char *hex, uint64_t *out)
{
	long n = hex_body(hex);
	uint64_t v = 0;
	long i = 0;

	if (n < 1)
		return -1;
	while (i < n && hex[2 + i] == '0')
		i++;
	if (n - i > 16)
		return -1;
	for (; i < n; i++)
		v = v << 4 | (uint64_t)hexdigit((unsigned char)hex[2 + i]);
	*out = v;
	return 0;
}

char *
ethval_address(const char *s)
{
	char *a;

	if (ethval_is_data_n(s, 20) < 0)
		return NULL;
	a = xstrdup(s);
	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return a;
}

char *
ethval_word_to_address(const char *word)
{
	char tmp[43];

	if (ethval_is_data_n(word, 32) < 0)
		return NULL;
	tmp[0] = '0';
	tmp[1] = 'x';
	memcpy(tmp + 2, word + 2 + 24, 40);
	tmp[42] = '\0';
	return ethval_address(tmp);
}

int
ethval_split_words(const char *data, struct strv *out)
{
	long n = hex_body(data);
	int words = 0;

	if (n < 0 || n % 2 != 0)
		return -1;
	for (long i = 0; i < n; i += 64) {
		long len = n - i < 64 ? n - i : 64;

		strv_push_take(out, xasprintf("0x%.*s", (int)len, data + 2 + i));
		words++;
	}
	return words;
}

int
ethval_unhex(const char *s, unsigned char **out, size_t *len)
{
	long n = hex_body(s);
	unsigned char *p;

	if (n < 0 || n % 2 != 0)
		return -1;
	p = xmalloc((size_t)n / 2 + 1);
	for (long i = 0; i < n / 2; i++)
		p[i] = (unsigned char)(hexdigit((unsigned char)s[2 + 2 * i]) << 4 |
		    hexdigit((unsigned char)s[3 + 2 * i]));
	*out = p;
	*len = (size_t)n / 2;
	return 0;
}

/* Python's repr() of a float, as ethereum-etl writes l1_fee_scalar:
 * the shortest text that reads back the same, with ".0" on integers and
 * exponent form outside [1e-4, 1e16). */
char *
ethval_py_float(const char *s)
{
	char *end;
	double v;

	/* strtod also reads hex ("0x1p3"), which float() does not. */
	if (strpbrk(s, "xX") != NULL)
		return NULL;
	v = strtod(s, &end);
	if (end == s || *end != '\0')
		return NULL;
	return ethval_py_float_of(v);
}

char *
ethval_py_float_of(double v)
{
	char tmp[40];
	int prec;

	if (!isfinite(v))
		return NULL;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (fabs(v) >= 1e16 || (v != 0 && fabs(v) < 1e-4)) {
		/* %g already chose exponent form: Python writes e-05 / e+16. */
		return xstrdup(tmp);
	}
	if (strchr(tmp, 'e') != NULL)
		snprintf(tmp, sizeof(tmp), "%.1f", v);
	if (strchr(tmp, '.') == NULL)
		snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), ".0");
	return xstrdup(tmp);
}
