/*
 * itemout.h: writes rows ("items") the way ethereum-etl's exporters do:
 * a file ending in .json gets JSON lines, anything else CSV with a header.
 *
 * CSV: Python csv.writer's excel dialect (comma, "\r\n" line ends, fields
 * quoted only when they hold a comma, quote or line break), null as an
 * empty field, booleans True/False, lists joined with "," (objects in a
 * list as compact JSON).  JSON: one object per line with the columns in
 * order, Python json.dumps spacing (", " and ": ") and ASCII escapes.
 *
 * Output is atomic: rows go to a temporary file beside the target, renamed
 * over it by itemout_commit; itemout_abort (or a crash) leaves no file
 * under the final name.  The path "-" writes to stdout.
 */
#ifndef STA_ITEMOUT_H
#define STA_ITEMOUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/util.h"

enum cell_kind {
	CELL_NULL,
	CELL_STR,	/* text, quoted in JSON */
	CELL_NUM,	/* a number already in its final text (decimal) */
	CELL_BOOL,
	CELL_LIST,	/* strings (or numbers, with list_num) */
	CELL_OBJLIST,	/* pre-rendered: csv text and json text */
};

struct cell {
	enum cell_kind kind;
	char *s;		/* STR, NUM; OBJLIST: the CSV text */
	char *json;		/* OBJLIST: the JSON text */
	int b;			/* BOOL */
	int list_num;		/* LIST: elements are numbers */
	struct strv list;	/* LIST */
};

/* A row of ncols cells, all CELL_NULL at first. */
struct row {
	struct cell *cells;
	size_t ncols;
};

void row_init(struct row *r, size_t ncols);
/* Resets every cell to CELL_NULL, freeing what they held. */
void row_clear(struct row *r);
void row_free(struct row *r);
/* The setters copy s (NULL s makes the cell null). */
void row_str(struct row *r, size_t col, const char *s);
void row_num(struct row *r, size_t col, const char *dec);
void row_num_take(struct row *r, size_t col, char *dec);
void row_u64(struct row *r, size_t col, unsigned long long v);
void row_bool(struct row *r, size_t col, int b);
/* Takes the strings of list (list is left empty). */
void row_list(struct row *r, size_t col, struct strv *list, int numbers);
void row_objlist_take(struct row *r, size_t col, char *csv, char *json);

struct itemout;

/* Opens path for the columns cols[0..ncols-1] (the strings must outlive
 * the writer).  Returns NULL after printing why. */
struct itemout *itemout_open(const char *path, const char *const *cols, size_t ncols);
/* Writes one row; -1 on a write error (printed). */
int itemout_write(struct itemout *o, const struct row *r);
/* Appends the text itemout_write would write for r to b, so rows can be
 * rendered ahead and written later with itemout_write_text. */
void itemout_render(const struct itemout *o, const struct row *r, struct buf *b);
/* Rendering a row straight from the values at hand, without a struct row:
 * a cursor takes one cell per column, in column order, and appends to b
 * the text itemout_render writes for the same cells (it is what
 * itemout_render uses).  Columns left when the row ends are null.  The
 * strings are copied; a list is begin, one item each, end.  With o NULL
 * nothing is rendered (for a caller that checks values it does not
 * write). */
struct itemout_cursor {
	const struct itemout *o;
	struct buf *b;
	size_t col;
	size_t list_at, list_n;
	int list_num;
};
void itemout_row_begin(const struct itemout *o, struct buf *b, struct itemout_cursor *c);
void itemout_put_null(struct itemout_cursor *c);
void itemout_put_str(struct itemout_cursor *c, const char *s);
void itemout_put_num(struct itemout_cursor *c, const char *dec);
void itemout_put_bool(struct itemout_cursor *c, int v);
/* Text the caller knows needs no CSV quoting and no JSON escaping (hex
 * data, decimal digits), len bytes: written as itemout_put_num (num set)
 * or itemout_put_str would, without looking at it. */
void itemout_put_plain(struct itemout_cursor *c, const char *s, size_t len, int num);
/* CELL_OBJLIST: text already rendered for each format. */
void itemout_put_pre(struct itemout_cursor *c, const char *csv, const char *json);
void itemout_list_begin(struct itemout_cursor *c, int numbers);
void itemout_list_item(struct itemout_cursor *c, const char *s);
void itemout_list_end(struct itemout_cursor *c);
void itemout_row_end(struct itemout_cursor *c);
/* Writes text holding nrows rendered rows; -1 on a write error. */
int itemout_write_text(struct itemout *o, const char *text, size_t len, unsigned long long nrows);
unsigned long long itemout_rows(const struct itemout *o);
/* Flushes, syncs and renames into place, then frees o; -1 on error. */
int itemout_commit(struct itemout *o);
/* Removes the temporary file and frees o. */
void itemout_abort(struct itemout *o);

/* Renders s as a JSON string with Python's ensure_ascii escapes. */
void json_quote_ascii(struct buf *b, const char *s);
/* Renders any JSON value as Python's json.dumps would (", " and ": "
 * separators, ASCII escapes, keys in their order). */
void json_dump_py(struct buf *b, const cJSON *v);
/* Renders one CSV field of the excel dialect (quoted only when needed). */
void csv_field(struct buf *b, const char *s);

#endif
