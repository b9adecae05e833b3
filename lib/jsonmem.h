/*
 * jsonmem.h: regions for cJSON trees that are built and dropped whole.
 *
 * A JSON-RPC batch answer parses into thousands of small cJSON nodes and
 * strings, each its own malloc and free.  While a region is current,
 * cJSON's allocations are carved from the region's large blocks instead,
 * and the tree goes at once when the region is freed.  Through cJSON's
 * allocation hooks (process-wide): outside a region they are malloc and
 * free, and a free of memory inside a live region does nothing, so
 * cJSON_Delete of such a tree is harmless and everything else is as
 * without regions.  Nothing allocated in a region may outlive it.
 */
#ifndef STA_JSONMEM_H
#define STA_JSONMEM_H

#include <stddef.h>

struct json_block;
struct json_region {
	struct json_block *blocks;
	char *at, *end;
	struct json_region *prev, *next;	/* live regions (with blocks) */
};

/* cJSON allocates from r until json_region_end (regions do not nest). */
void json_region_begin(struct json_region *r);
void json_region_end(void);
/* Releases everything allocated in r; r may be used again. */
void json_region_free(struct json_region *r);

#endif
