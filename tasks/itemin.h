/*
 * itemin.h: reads the item files ethereum-etl writes (and we write), CSV
 * with a header (Python csv's excel dialect: quoted fields, doubled
 * quotes, line breaks inside quotes) or JSON lines, as one object per row
 * with string values, so every extract_* command reads both alike.
 *
 * Every error names the file and line.
 */
#ifndef STA_ITEMIN_H
#define STA_ITEMIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct itemin;

/* Opens path ("-" for stdin); .json means JSON lines.  NULL after printing
 * why. */
struct itemin *itemin_open(const char *path);
/* Reads the next item: 1 with *item set (caller frees with cJSON_Delete),
 * 0 at the end, -1 on malformed input (printed with file:line).  CSV
 * values are strings; JSON values keep their types. */
int itemin_next(struct itemin *in, cJSON **item);
/* The line the last item started on, for messages. */
size_t itemin_line(const struct itemin *in);
const char *itemin_path(const struct itemin *in);
void itemin_close(struct itemin *in);
/* The items of the file at path, or -1 (printed) when it cannot be read
 * or is malformed. */
long long itemin_count(const char *path);

#endif
