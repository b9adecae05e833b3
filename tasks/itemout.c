/*
 * itemout.c: ethereum-etl compatible CSV and JSON-lines writers with atomic
 * output (see itemout.h).
 */
#include "tasks/itemout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"

struct itemout {
	FILE *f;
	char *path;
	char *tmp;		/* NULL when writing to stdout */
	int json;
	const char *const *cols;
	size_t ncols;
	unsigned long long rows;
	struct buf line;
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

		switch (*p) {
		case '"': buf_puts(b, "\\\""); p++; continue;
		case '\\': buf_puts(b, "\\\\"); p++; continue;
		case '\n': buf_puts(b, "\\n"); p++; continue;
		case '\r': buf_puts(b, "\\r"); p++; continue;
		case '\t': buf_puts(b, "\\t"); p++; continue;
		case '\b': buf_puts(b, "\\b"); p++; continue;
		case '\f': buf_puts(b, "\\f"); p++; continue;
		}
		if (cp < 0x20) {
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
		if (v->valuedouble == (double)(long long)v->valuedouble)
			buf_printf(b, "%lld", (long long)v->valuedouble);
		else
			buf_printf(b, "%.17g", v->valuedouble);
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

static void
render_csv(struct buf *b, const struct cell *c)
{
	struct buf tmp = {0};

	switch (c->kind) {
	case CELL_NULL:
		return;
	case CELL_STR:
	case CELL_NUM:
	case CELL_OBJLIST:
		csv_field(b, c->s);
		return;
	case CELL_BOOL:
		buf_puts(b, c->b ? "True" : "False");
		return;
	case CELL_LIST:
		for (size_t i = 0; i < c->list.n; i++) {
			if (i)
				buf_putc(&tmp, ',');
			buf_puts(&tmp, c->list.v[i]);
		}
		csv_field(b, tmp.data ? tmp.data : "");
		buf_free(&tmp);
		return;
	}
}

static void
render_json(struct buf *b, const struct cell *c)
{
	switch (c->kind) {
	case CELL_NULL:
		buf_puts(b, "null");
		return;
	case CELL_STR:
		json_quote_ascii(b, c->s);
		return;
	case CELL_NUM:
		buf_puts(b, c->s);
		return;
	case CELL_OBJLIST:
		buf_puts(b, c->json);
		return;
	case CELL_BOOL:
		buf_puts(b, c->b ? "true" : "false");
		return;
	case CELL_LIST:
		buf_putc(b, '[');
		for (size_t i = 0; i < c->list.n; i++) {
			if (i)
				buf_puts(b, ", ");
			if (c->list_num)
				buf_puts(b, c->list.v[i]);
			else
				json_quote_ascii(b, c->list.v[i]);
		}
		buf_putc(b, ']');
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
	if (!o->json) {
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
	if (o->json)
		buf_putc(b, '{');
	for (size_t i = 0; i < o->ncols; i++) {
		if (o->json) {
			if (i)
				buf_puts(b, ", ");
			json_quote_ascii(b, o->cols[i]);
			buf_puts(b, ": ");
			render_json(b, &r->cells[i]);
		} else {
			if (i)
				buf_putc(b, ',');
			render_csv(b, &r->cells[i]);
		}
	}
	buf_puts(b, o->json ? "}\n" : "\r\n");
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
