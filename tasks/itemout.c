/*
 * itemout.c: ethereum-etl compatible CSV and JSON-lines writers with atomic
 * output (see itemout.h).
 */
#include "tasks/itemout.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "tasks/ethval.h"

struct itemout {
	FILE *f;
	char *path;
	char *tmp;		/* NULL when writing to stdout */
	int json;
	const char *const *cols;
	size_t ncols;
	unsigned long long rows;
	struct buf line;
	struct buf *keys;	/* JSON: each column's "name": */
};

void
row_init(struct row *r, size_t ncols)
{
	r->cells = xcalloc(ncols, sizeof(*r->cells));
	r->ncols = ncols;
}

static void
cell_clear(struct cell *c)
{
	free(c->s);
	free(c->json);
	strv_free(&c->list);
	memset(c, 0, sizeof(*c));
}

void
row_clear(struct row *r)
{
	for (size_t i = 0; i < r->ncols; i++)
		cell_clear(&r->cells[i]);
}

void
row_free(struct row *r)
{
	row_clear(r);
	free(r->cells);
	r->cells = NULL;
	r->ncols = 0;
}

static struct cell *
cell_at(struct row *r, size_t col)
{
	struct cell *c = &r->cells[col];

	cell_clear(c);
	return c;
}

void
row_str(struct row *r, size_t col, const char *s)
{
	struct cell *c = cell_at(r, col);

	if (s == NULL)
		return;
	c->kind = CELL_STR;
	c->s = xstrdup(s);
}

void
row_num_take(struct row *r, size_t col, char *dec)
{
	struct cell *c = cell_at(r, col);

	if (dec == NULL)
		return;
	c->kind = CELL_NUM;
	c->s = dec;
}

void
row_num(struct row *r, size_t col, const char *dec)
{
	row_num_take(r, col, dec ? xstrdup(dec) : NULL);
}

void
row_u64(struct row *r, size_t col, unsigned long long v)
{
	row_num_take(r, col, xasprintf("%llu", v));
}

void
row_bool(struct row *r, size_t col, int b)
{
	struct cell *c = cell_at(r, col);

	c->kind = CELL_BOOL;
	c->b = b != 0;
}

void
row_list(struct row *r, size_t col, struct strv *list, int numbers)
{
	struct cell *c = cell_at(r, col);

	c->kind = CELL_LIST;
	c->list = *list;
	c->list_num = numbers;
	memset(list, 0, sizeof(*list));
}

void
row_objlist_take(struct row *r, size_t col, char *csv, char *json)
{
	struct cell *c = cell_at(r, col);

	c->kind = CELL_OBJLIST;
	c->s = csv;
	c->json = json;
}

void
json_quote_ascii(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	while (*p) {
		unsigned int cp = *p;
		int extra = 0;
		const unsigned char *run = p;

		/* Printable ASCII other than the quote and backslash goes out as
		 * it is, a run at a time. */
		while (*run >= 0x20 && *run < 0x7f && *run != '"' && *run != '\\')
			run++;
		if (run != p) {
			buf_append(b, p, (size_t)(run - p));
			p = run;
			continue;
		}
		switch (*p) {
		case '"': buf_puts(b, "\\\""); p++; continue;
		case '\\': buf_puts(b, "\\\\"); p++; continue;
		case '\n': buf_puts(b, "\\n"); p++; continue;
		case '\r': buf_puts(b, "\\r"); p++; continue;
		case '\t': buf_puts(b, "\\t"); p++; continue;
		case '\b': buf_puts(b, "\\b"); p++; continue;
		case '\f': buf_puts(b, "\\f"); p++; continue;
		}
		if (cp < 0x20 || cp == 0x7f) {	/* json.dumps escapes DEL too */
			buf_printf(b, "\\u%04x", cp);
			p++;
			continue;
		}
		if (cp < 0x80) {
			buf_putc(b, (char)cp);
			p++;
			continue;
		}
		/* UTF-8 to a code point; a malformed byte is escaped as itself
		 * (callers pass valid UTF-8: token names are checked). */
		if ((cp & 0xe0) == 0xc0) { cp &= 0x1f; extra = 1; }
		else if ((cp & 0xf0) == 0xe0) { cp &= 0x0f; extra = 2; }
		else if ((cp & 0xf8) == 0xf0) { cp &= 0x07; extra = 3; }
		p++;
		for (int i = 0; i < extra && (*p & 0xc0) == 0x80; i++, p++)
			cp = cp << 6 | (*p & 0x3f);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			buf_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else {
			buf_printf(b, "\\u%04x", cp);
		}
	}
	buf_putc(b, '"');
}

void
json_dump_py(struct buf *b, const cJSON *v)
{
	const cJSON *c;
	int first = 1;

	if (cJSON_IsNull(v) || v == NULL) {
		buf_puts(b, "null");
	} else if (cJSON_IsTrue(v)) {
		buf_puts(b, "true");
	} else if (cJSON_IsFalse(v)) {
		buf_puts(b, "false");
	} else if (cJSON_IsString(v)) {
		json_quote_ascii(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* Integers as Python writes ints (those past 2^63 have lost
		 * digits in cJSON's double), others as its float repr. */
		double d = v->valuedouble;
		char *f;

		if (fabs(d) < 9.2e18 && d == (double)(long long)d) {
			buf_printf(b, "%lld", (long long)d);
		} else if ((f = ethval_py_float_of(d)) != NULL) {
			buf_puts(b, f);
			free(f);
		} else {
			buf_puts(b, d > 0 ? "Infinity" : "-Infinity");	/* 1e999, as json.dumps */
		}
	} else if (cJSON_IsArray(v)) {
		buf_putc(b, '[');
		cJSON_ArrayForEach(c, v) {
			buf_puts(b, first ? "" : ", ");
			json_dump_py(b, c);
			first = 0;
		}
		buf_putc(b, ']');
	} else if (cJSON_IsObject(v)) {
		buf_putc(b, '{');
		cJSON_ArrayForEach(c, v) {
			buf_puts(b, first ? "" : ", ");
			json_quote_ascii(b, c->string);
			buf_puts(b, ": ");
			json_dump_py(b, c);
			first = 0;
		}
		buf_putc(b, '}');
	}
}

void
csv_field(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/* Quotes the CSV field that starts at offset at of b and runs to its end,
 * in place, when it holds a comma, quote or line break (csv_field's rule
 * for text already appended). */
static void
csv_quote_tail(struct buf *b, size_t at)
{
	size_t quotes = 0, len = b->len - at, i, d;
	int special = 0;

	for (i = at; i < b->len; i++) {
		char ch = b->data[i];

		quotes += ch == '"';
		special |= ch == ',' || ch == '"' || ch == '\r' || ch == '\n';
	}
	if (!special)
		return;
	/* Grow by the two quotes and one per doubled quote, then move the
	 * text back to front so nothing is overwritten before it is read. */
	for (i = 0; i < quotes + 2; i++)
		buf_putc(b, '"');
	d = b->len - 1;
	b->data[d--] = '"';
	for (i = len; i-- > 0;) {
		char ch = b->data[at + i];

		b->data[d--] = ch;
		if (ch == '"')
			b->data[d--] = '"';
	}
	b->data[d] = '"';
}

/* The separator and, in JSON, the key before the cursor's next cell;
 * 0 when there is nothing to render (no writer). */
static int
cell_start(struct itemout_cursor *c)
{
	if (c->o == NULL)
		return 0;
	if (c->col >= c->o->ncols) {
		log_error("internal: a row of %zu columns given another cell", c->o->ncols);
		abort();
	}
	if (c->o->json) {
		if (c->col)
			buf_puts(c->b, ", ");
		buf_append(c->b, c->o->keys[c->col].data, c->o->keys[c->col].len);
	} else if (c->col) {
		buf_putc(c->b, ',');
	}
	c->col++;
	return 1;
}

void
itemout_row_begin(const struct itemout *o, struct buf *b, struct itemout_cursor *c)
{
	*c = (struct itemout_cursor){.o = o, .b = b};
	if (o && o->json)
		buf_putc(b, '{');
}

void
itemout_row_end(struct itemout_cursor *c)
{
	if (c->o == NULL)
		return;
	while (c->col < c->o->ncols)
		itemout_put_null(c);
	buf_puts(c->b, c->o->json ? "}\n" : "\r\n");
}

void
itemout_put_null(struct itemout_cursor *c)
{
	if (!cell_start(c))
		return;
	if (c->o->json)
		buf_puts(c->b, "null");
}

void
itemout_put_str(struct itemout_cursor *c, const char *s)
{
	if (!cell_start(c))
		return;
	if (c->o->json)
		json_quote_ascii(c->b, s);
	else
		csv_field(c->b, s);
}

void
itemout_put_num(struct itemout_cursor *c, const char *dec)
{
	if (!cell_start(c))
		return;
	if (c->o->json)
		buf_puts(c->b, dec);
	else
		csv_field(c->b, dec);
}

void
itemout_put_plain(struct itemout_cursor *c, const char *s, size_t len, int num)
{
	if (!cell_start(c))
		return;
	if (c->o->json && !num)
		buf_putc(c->b, '"');
	buf_append(c->b, s, len);
	if (c->o->json && !num)
		buf_putc(c->b, '"');
}

void
itemout_put_bool(struct itemout_cursor *c, int v)
{
	if (!cell_start(c))
		return;
	if (c->o->json)
		buf_puts(c->b, v ? "true" : "false");
	else
		buf_puts(c->b, v ? "True" : "False");
}

void
itemout_put_pre(struct itemout_cursor *c, const char *csv, const char *json)
{
	if (!cell_start(c))
		return;
	if (c->o->json)
		buf_puts(c->b, json);
	else
		csv_field(c->b, csv);
}

void
itemout_list_begin(struct itemout_cursor *c, int numbers)
{
	if (!cell_start(c))
		return;
	c->list_at = c->b->len;
	c->list_n = 0;
	c->list_num = numbers;
	if (c->o->json)
		buf_putc(c->b, '[');
}

void
itemout_list_item(struct itemout_cursor *c, const char *s)
{
	if (c->o == NULL)
		return;
	if (c->o->json) {
		if (c->list_n)
			buf_puts(c->b, ", ");
		if (c->list_num)
			buf_puts(c->b, s);
		else
			json_quote_ascii(c->b, s);
	} else {
		/* CSV: the items joined with commas make one field, quoted
		 * at the end when it needs it. */
		if (c->list_n)
			buf_putc(c->b, ',');
		buf_puts(c->b, s);
	}
	c->list_n++;
}

void
itemout_list_end(struct itemout_cursor *c)
{
	if (c->o == NULL)
		return;
	if (c->o->json)
		buf_putc(c->b, ']');
	else
		csv_quote_tail(c->b, c->list_at);
}

static void
put_cell(struct itemout_cursor *c, const struct cell *cell)
{
	switch (cell->kind) {
	case CELL_NULL:
		itemout_put_null(c);
		return;
	case CELL_STR:
		itemout_put_str(c, cell->s);
		return;
	case CELL_NUM:
		itemout_put_num(c, cell->s);
		return;
	case CELL_OBJLIST:
		itemout_put_pre(c, cell->s, cell->json);
		return;
	case CELL_BOOL:
		itemout_put_bool(c, cell->b);
		return;
	case CELL_LIST:
		itemout_list_begin(c, cell->list_num);
		for (size_t i = 0; i < cell->list.n; i++)
			itemout_list_item(c, cell->list.v[i]);
		itemout_list_end(c);
		return;
	}
}

struct itemout *
itemout_open(const char *path, const char *const *cols, size_t ncols)
{
	struct itemout *o = xcalloc(1, sizeof(*o));

	o->path = xstrdup(path);
	o->cols = cols;
	o->ncols = ncols;
	o->json = str_has_suffix(path, ".json");
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
	} else {
		char *dir = fs_dirname(path);

		if (fs_mkdir_p(dir) < 0) {
			log_error("%s: cannot create folder %s: %s", path, dir, strerror(errno));
			free(dir);
			goto fail;
		}
		free(dir);
		o->tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
		o->f = fopen(o->tmp, "w");
		if (o->f == NULL) {
			log_error("%s: %s", o->tmp, strerror(errno));
			goto fail;
		}
	}
	if (o->json) {
		o->keys = xcalloc(ncols, sizeof(*o->keys));
		for (size_t i = 0; i < ncols; i++) {
			json_quote_ascii(&o->keys[i], cols[i]);
			buf_puts(&o->keys[i], ": ");
		}
	} else {
		for (size_t i = 0; i < ncols; i++) {
			if (i)
				buf_putc(&o->line, ',');
			csv_field(&o->line, cols[i]);
		}
		buf_puts(&o->line, "\r\n");
		if (fwrite(o->line.data, 1, o->line.len, o->f) != o->line.len) {
			log_error("%s: write: %s", path, strerror(errno));
			itemout_abort(o);
			return NULL;
		}
	}
	return o;
fail:
	free(o->tmp);
	free(o->path);
	free(o);
	return NULL;
}

void
itemout_render(const struct itemout *o, const struct row *r, struct buf *b)
{
	struct itemout_cursor c;

	itemout_row_begin(o, b, &c);
	for (size_t i = 0; i < o->ncols; i++)
		put_cell(&c, &r->cells[i]);
	itemout_row_end(&c);
}

int
itemout_write_text(struct itemout *o, const char *text, size_t len, unsigned long long nrows)
{
	if (len && fwrite(text, 1, len, o->f) != len) {
		log_error("%s: write: %s", o->path, strerror(errno));
		return -1;
	}
	o->rows += nrows;
	return 0;
}

int
itemout_write(struct itemout *o, const struct row *r)
{
	buf_reset(&o->line);
	itemout_render(o, r, &o->line);
	return itemout_write_text(o, o->line.data, o->line.len, 1);
}

unsigned long long
itemout_rows(const struct itemout *o)
{
	return o->rows;
}

static void
itemout_free(struct itemout *o)
{
	for (size_t i = 0; o->keys && i < o->ncols; i++)
		buf_free(&o->keys[i]);
	free(o->keys);
	buf_free(&o->line);
	free(o->tmp);
	free(o->path);
	free(o);
}

int
itemout_commit(struct itemout *o)
{
	int rc = 0;

	if (o->tmp == NULL) {
		rc = fflush(o->f) == 0 ? 0 : -1;
		itemout_free(o);
		return rc;
	}
	if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0) {
		log_error("%s: write: %s", o->path, strerror(errno));
		rc = -1;
	}
	if (fclose(o->f) != 0 && rc == 0) {
		log_error("%s: close: %s", o->path, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(o->tmp, o->path) != 0) {
		log_error("%s: rename: %s", o->path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(o->tmp);
	itemout_free(o);
	return rc;
}

void
itemout_abort(struct itemout *o)
{
	if (o == NULL)
		return;
	if (o->tmp != NULL) {
		fclose(o->f);
		unlink(o->tmp);
	}
	itemout_free(o);
}
