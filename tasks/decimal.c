/*
 * decimal.c: decimal text arithmetic (see decimal.h).
 */
#include "tasks/decimal.h"

#include <stdlib.h>
#include <string.h>

int
dec_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static const char *
skip_zeros(const char *s)
{
	while (s[0] == '0' && s[1] != '\0')
		s++;
	return s;
}

char *
dec_add(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = (la > lb ? la : lb) + 1;
	char *out = xmalloc(n + 1);
	int carry = 0;

	out[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		int d = carry;

		if (i < la)
			d += a[la - 1 - i] - '0';
		if (i < lb)
			d += b[lb - 1 - i] - '0';
		out[n - 1 - i] = (char)('0' + d % 10);
		carry = d / 10;
	}
	memmove(out, skip_zeros(out), strlen(skip_zeros(out)) + 1);
	return out;
}

int
dec_cmp(const char *a, const char *b)
{
	size_t la, lb;

	a = skip_zeros(a);
	b = skip_zeros(b);
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* Compares two big-endian digit strings of lengths la and lb. */
static int
cmp_digits(const char *a, size_t la, const char *b, size_t lb)
{
	while (la > 1 && *a == '0')
		a++, la--;
	while (lb > 1 && *b == '0')
		b++, lb--;
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

/* rem -= b (rem >= b), both big-endian digit strings of length n and lb. */
static void
sub_in_place(char *rem, size_t n, const char *b, size_t lb)
{
	int borrow = 0;

	for (size_t i = 0; i < n; i++) {
		int d = rem[n - 1 - i] - '0' - borrow - (i < lb ? b[lb - 1 - i] - '0' : 0);

		borrow = d < 0;
		rem[n - 1 - i] = (char)('0' + (d < 0 ? d + 10 : d));
	}
}

char *
dec_div(const char *a, const char *b, int scale)
{
	/* Long division of a * 10^(scale+1) by b, then round the last digit. */
	size_t la = strlen(a), lb = strlen(b), n = la + (size_t)scale + 1;
	char *num = xmalloc(n + 1), *q = xmalloc(n + 1), *rem = xcalloc(n + 2, 1);
	struct buf out = {0};
	size_t rl = 0, qi;
	int carry;

	b = skip_zeros(b);
	lb = strlen(b);
	if (strcmp(b, "0") == 0) {
		free(num);
		free(q);
		free(rem);
		return NULL;
	}
	memcpy(num, a, la);
	memset(num + la, '0', (size_t)scale + 1);
	num[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		int d = 0;

		rem[rl++] = num[i];
		while (cmp_digits(rem, rl, b, lb) >= 0) {
			sub_in_place(rem, rl, b, lb);
			d++;
		}
		q[i] = (char)('0' + d);
	}
	q[n] = '\0';
	/* Round half away from zero on the extra digit. */
	carry = q[n - 1] >= '5';
	q[n - 1] = '\0';
	for (qi = n - 1; carry && qi-- > 0;) {
		if (q[qi] == '9') {
			q[qi] = '0';
		} else {
			q[qi]++;
			carry = 0;
		}
	}
	if (carry)
		buf_putc(&out, '1');
	{
		const char *digits = q;
		size_t nd = strlen(q), intlen = nd - (size_t)scale;
		size_t start = 0;

		while (start + 1 < intlen && digits[start] == '0' && !carry)
			start++;
		if (intlen == 0)
			buf_putc(&out, '0');
		buf_append(&out, digits + start, intlen - start);
		if (scale > 0) {
			buf_putc(&out, '.');
			buf_append(&out, digits + intlen, (size_t)scale);
		}
	}
	free(num);
	free(q);
	free(rem);
	return buf_detach(&out);
}
