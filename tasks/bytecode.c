/*
 * bytecode.c: PUSH4 operands of EVM bytecode (see bytecode.h).
 */
#include "tasks/bytecode.h"

#include <stdlib.h>
#include <string.h>

#define OP_JUMPDEST 0x5b
#define OP_PUSH1 0x60
#define OP_PUSH4 0x63
#define OP_PUSH32 0x7f

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
bytecode_push4(const unsigned char *code, size_t len, int first_block_only, struct strv *out)
{
	size_t start = out->n, w;

	for (size_t pc = 0; pc < len; pc++) {
		unsigned op = code[pc];

		if (op == OP_JUMPDEST && first_block_only)
			break;
		if (op < OP_PUSH1 || op > OP_PUSH32)
			continue;
		if (op == OP_PUSH4 && pc + 4 < len)
			strv_push_take(out, xasprintf("0x%02x%02x%02x%02x", code[pc + 1], code[pc + 2],
			    code[pc + 3], code[pc + 4]));
		pc += op - OP_PUSH1 + 1;
	}
	if (out->n - start < 2)
		return;
	qsort(out->v + start, out->n - start, sizeof(*out->v), cmp_str);
	w = start + 1;
	for (size_t i = start + 1; i < out->n; i++) {
		if (strcmp(out->v[i], out->v[w - 1]) == 0)
			free(out->v[i]);
		else
			out->v[w++] = out->v[i];
	}
	out->n = w;
	out->v[w] = NULL;
}
