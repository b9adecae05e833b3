/*
 * decimal.h: exact arithmetic on non-negative decimal integers held as
 * text, for uint256 amounts in stores without a 256-bit numeric type
 * (SQLite): sum, compare, and division rounded to a number of fraction
 * digits (half away from zero, as PostgreSQL's numeric rounds).
 */
#ifndef STA_DECIMAL_H
#define STA_DECIMAL_H

#include "lib/util.h"

/* 1 if s is a non-empty string of decimal digits. */
int dec_valid(const char *s);
/* a + b (caller frees); both valid. */
char *dec_add(const char *a, const char *b);
/* <0, 0, >0 as a < b, a == b, a > b (leading zeros ignored). */
int dec_cmp(const char *a, const char *b);
/* a / b rounded to scale fraction digits, e.g. "1.500000" (caller frees);
 * NULL when b is zero. */
char *dec_div(const char *a, const char *b, int scale);

#endif
