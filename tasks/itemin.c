/*
 * itemin.c: CSV and JSON-lines item readers (see itemin.h).
 */
#include "tasks/itemin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

struct itemin {
	FILE *f;
	char *path;
	int json;
	size_t line, item_line;
	struct strv header;
};

/* Reads one CSV record into fields; 1 read, 0 at end, -1 malformed. */
static int
csv_record(struct itemin *in, struct strv *fields)
{
	struct buf cur = {0};
	int c, quoted = 0, any = 0, after_quote = 0;

	in->item_line = in->line + 1;
	for (;;) {
		c = fgetc(in->f);
		if (c == EOF) {
			if (quoted) {
				log_error("%s:%zu: end of file inside a quoted field", in->path,
				    in->item_line);
				buf_free(&cur);
				return -1;
			}
			if (!any) {
				buf_free(&cur);
				return 0;
			}
			break;
		}
		any = 1;
		if (quoted) {
			if (c == '"') {
				int d = fgetc(in->f);

				if (d == '"') {
					buf_putc(&cur, '"');
					continue;
				}
				if (d != EOF)
					ungetc(d, in->f);
				quoted = 0;
				after_quote = 1;
				continue;
			}
			if (c == '\n')
				in->line++;
			buf_putc(&cur, (char)c);
			continue;
		}
		if (c == '"' && cur.len == 0 && !after_quote) {
			quoted = 1;
			continue;
		}
		if (c == ',') {
			strv_push(fields, cur.data ? cur.data : "");
			buf_reset(&cur);
			after_quote = 0;
			continue;
		}
		if (c == '\r')
			continue;
		if (c == '\n') {
			in->line++;
			break;
		}
		buf_putc(&cur, (char)c);
	}
	strv_push(fields, cur.data ? cur.data : "");
	buf_free(&cur);
	return 1;
}

struct itemin *
itemin_open(const char *path)
{
	struct itemin *in = xcalloc(1, sizeof(*in));

	in->path = xstrdup(path);
	in->json = str_has_suffix(path, ".json");
	in->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in->f == NULL) {
		log_error("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!in->json) {
		int rc = csv_record(in, &in->header);

		if (rc <= 0) {
			if (rc == 0)
				log_error("%s: empty file: a CSV header was expected", path);
			goto fail;
		}
	}
	return in;
fail:
	itemin_close(in);
	return NULL;
}

int
itemin_next(struct itemin *in, cJSON **item)
{
	*item = NULL;
	if (in->json) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		do {
			n = getline(&line, &cap, in->f);
			in->line++;
		} while (n > 0 && strspn(line, " \t\r\n") == (size_t)n);
		in->item_line = in->line;
		if (n <= 0) {
			free(line);
			return 0;
		}
		*item = cJSON_Parse(line);
		free(line);
		if (!cJSON_IsObject(*item)) {
			log_error("%s:%zu: not a JSON object", in->path, in->item_line);
			cJSON_Delete(*item);
			*item = NULL;
			return -1;
		}
		return 1;
	}
	for (;;) {
		struct strv fields = {0};
		int rc = csv_record(in, &fields);

		if (rc <= 0) {
			strv_free(&fields);
			return rc;
		}
		if (fields.n == 1 && fields.v[0][0] == '\0') {
			strv_free(&fields);
			continue;	/* a blank line */
		}
		if (fields.n != in->header.n) {
			log_error("%s:%zu: %zu fields where the header has %zu", in->path,
			    in->item_line, fields.n, in->header.n);
			strv_free(&fields);
			return -1;
		}
		*item = cJSON_CreateObject();
		for (size_t i = 0; i < fields.n; i++)
			cJSON_AddStringToObject(*item, in->header.v[i], fields.v[i]);
		strv_free(&fields);
		return 1;
	}
}

size_t
itemin_line(const struct itemin *in)
{
	return in->item_line;
}

const char *
itemin_path(const struct itemin *in)
{
	return in->path;
}

void
itemin_close(struct itemin *in)
{
	if (in == NULL)
		return;
	if (in->f && in->f != stdin)
		fclose(in->f);
	strv_free(&in->header);
	free(in->path);
	free(in);
}

long long
itemin_count(const char *path)
{
	struct itemin *in = itemin_open(path);
	long long rows = 0;
	cJSON *it;
	int got;

	if (in == NULL)
		return -1;
	while ((got = itemin_next(in, &it)) > 0) {
		rows++;
		cJSON_Delete(it);
	}
	itemin_close(in);
	return got < 0 ? -1 : rows;
}
