/*
 * jsonmem.c: cJSON's allocation hooks and regions (see jsonmem.h).
 */
#include "lib/jsonmem.h"

#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "lib/util.h"

#define BLOCK_SIZE (64 * 1024)
#define SPARE_MAX 32		/* blocks kept for reuse: 2 MB */
#define ALIGN (sizeof(max_align_t))

struct json_block {
	struct json_block *next;
	size_t size;
	max_align_t data[];
};

static struct json_region *current, *live;
/* Freed blocks of BLOCK_SIZE, for the next regions: fresh memory from
 * malloc costs a page fault per page each time. */
static struct json_block *spare;
static int nspare;

static void *
region_alloc(struct json_region *r, size_t n)
{
	char *p;

	if (n > SIZE_MAX - BLOCK_SIZE)
		return NULL;
	n = (n + ALIGN - 1) / ALIGN * ALIGN;
	if ((size_t)(r->end - r->at) < n) {
		size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
		struct json_block *b;

		if (size == BLOCK_SIZE && spare != NULL) {
			b = spare;
			spare = b->next;
			nspare--;
		} else {
			b = xmalloc(sizeof(*b) + size);
		}

		if (r->blocks == NULL) {
			r->prev = NULL;
			r->next = live;
			if (live)
				live->prev = r;
			live = r;
		}
		b->next = r->blocks;
		b->size = size;
		r->blocks = b;
		r->at = (char *)b->data;
		r->end = r->at + size;
	}
	p = r->at;
	r->at += n;
	return p;
}

static void *
hook_malloc(size_t n)
{
	return current ? region_alloc(current, n) : malloc(n);
}

static void
hook_free(void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (struct json_region *r = live; r; r = r->next)
		for (struct json_block *b = r->blocks; b; b = b->next)
			if (a >= (uintptr_t)b->data && a < (uintptr_t)b->data + b->size)
				return;
	free(p);
}

void
json_region_begin(struct json_region *r)
{
	static int hooked;

	if (!hooked) {
		cJSON_Hooks h = {hook_malloc, hook_free};

		cJSON_InitHooks(&h);
		hooked = 1;
	}
	current = r;
}

void
json_region_end(void)
{
	current = NULL;
}

void
json_region_free(struct json_region *r)
{
	if (r->blocks == NULL)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		live = r->next;
	if (r->next)
		r->next->prev = r->prev;
	while (r->blocks) {
		struct json_block *b = r->blocks;

		r->blocks = b->next;
		if (b->size == BLOCK_SIZE && nspare < SPARE_MAX) {
			b->next = spare;
			spare = b;
			nspare++;
		} else {
			free(b);
		}
	}
	r->at = r->end = NULL;
	r->prev = r->next = NULL;
}
