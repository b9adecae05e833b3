/*
 * template.c: `{{ name }}` substitution with the fixed set of names in
 * template.h.  One scanner serves both checking and rendering, so what
 * passes the check is exactly what renders.
 */
#include "runner/template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

enum macro {
	M_DS, M_DS_NODASH, M_TS, M_LOGICAL_DATE, M_INTERVAL_START,
	M_INTERVAL_END, M_DAG_ID, M_TASK_ID, M_RUN_ID, M_PARAM, M_VAR,
};

static const struct {
	const char *name;
	enum macro m;
} plain_macros[] = {
	{ "ds", M_DS }, { "ds_nodash", M_DS_NODASH }, { "ts", M_TS },
	{ "logical_date", M_LOGICAL_DATE },
	{ "data_interval_start", M_INTERVAL_START },
	{ "data_interval_end", M_INTERVAL_END },
	{ "dag.dag_id", M_DAG_ID }, { "task.task_id", M_TASK_ID },
	{ "run_id", M_RUN_ID },
};

static int
ident_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Parses the expression between {{ and }} (trimmed): sets *m and, for
 * params and var, the key and its length.  Returns 0 or -1 with err set. */
static int
parse_expr(const char *e, size_t n, enum macro *m, const char **key, size_t *keylen,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_LEN(plain_macros); i++) {
		if (strlen(plain_macros[i].name) == n && memcmp(plain_macros[i].name, e, n) == 0) {
			*m = plain_macros[i].m;
			return 0;
		}
	}
	if (n > 7 && memcmp(e, "params.", 7) == 0 && ident_ok(e + 7, n - 7)) {
		*m = M_PARAM;
		*key = e + 7;
		*keylen = n - 7;
		return 0;
	}
	if (n > 10 && memcmp(e, "var.value.", 10) == 0 && ident_ok(e + 10, n - 10)) {
		*m = M_VAR;
		*key = e + 10;
		*keylen = n - 10;
		return 0;
	}
	snprintf(err, errlen, "template '{{ %.*s }}' is not allowed: use ds, ds_nodash, ts, "
	    "logical_date, data_interval_start, data_interval_end, dag.dag_id, "
	    "task.task_id, run_id, params.NAME or var.value.NAME (no filters or expressions)",
	    (int)(n > 60 ? 60 : n), e);
	return -1;
}

/* Finds the next expression at or after p.  Returns 1 with its bounds,
 * 0 when there is none, -1 on a malformed one (err, *bad set). */
static int
next_expr(const char *s, const char **p, const char **open, const char **ebeg,
    size_t *elen, size_t *bad, char *err, size_t errlen)
{
	const char *o = strstr(*p, "{{"), *blk = strstr(*p, "{%"), *c;

	if (blk != NULL && (o == NULL || blk < o)) {
		*bad = (size_t)(blk - s);
		snprintf(err, errlen, "'{%%' blocks are not allowed in templates");
		return -1;
	}
	if (o == NULL) {
		const char *cm = strstr(*p, "{#");

		if (cm != NULL) {
			*bad = (size_t)(cm - s);
			snprintf(err, errlen, "'{#' comments are not allowed in templates");
			return -1;
		}
		return 0;
	}
	c = strstr(o + 2, "}}");
	if (c == NULL) {
		*bad = (size_t)(o - s);
		snprintf(err, errlen, "unterminated '{{' (no matching '}}')");
		return -1;
	}
	const char *b = o + 2, *e = c;

	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	*open = o;
	*ebeg = b;
	*elen = (size_t)(e - b);
	*p = c + 2;
	return 1;
}

int
template_check(const char *s, size_t *err_offset, char *err, size_t errlen)
{
	const char *p = s, *open, *e, *key;
	size_t n, keylen, bad = 0;
	enum macro m;
	int rc;

	while ((rc = next_expr(s, &p, &open, &e, &n, &bad, err, errlen)) == 1) {
		if (parse_expr(e, n, &m, &key, &keylen, err, errlen) != 0) {
			*err_offset = (size_t)(open - s);
			return -1;
		}
	}
	if (rc < 0) {
		*err_offset = bad;
		return -1;
	}
	return 0;
}

int
template_is_plain(const char *s)
{
	return strstr(s, "{{") == NULL && strstr(s, "{%") == NULL && strstr(s, "{#") == NULL;
}

/* Renders a params value as Python's str() would. */
static int
render_param(struct buf *b, const cJSON *v, const char *key, char *err, size_t errlen)
{
	if (cJSON_IsString(v)) {
		buf_puts(b, v->valuestring);
	} else if (cJSON_IsBool(v)) {
		buf_puts(b, cJSON_IsTrue(v) ? "True" : "False");
	} else if (cJSON_IsNull(v)) {
		buf_puts(b, "None");
	} else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble &&
	    v->valuedouble > -9007199254740992.0 && v->valuedouble < 9007199254740992.0) {
		buf_printf(b, "%lld", (long long)v->valuedouble);
	} else {
		snprintf(err, errlen, "params.%s: only strings, integers, booleans and null "
		    "can be rendered into a template", key);
		return -1;
	}
	return 0;
}

int
template_render(const char *s, const struct template_ctx *ctx, char **out,
    char *err, size_t errlen)
{
	struct buf b = {0};
	const char *p = s, *open, *e, *key = NULL, *prev = s;
	char tbuf[TIME_ISO_LEN], name[256];
	size_t n, keylen = 0, bad;
	enum macro m;
	int rc;

	while ((rc = next_expr(s, &p, &open, &e, &n, &bad, err, errlen)) == 1) {
		if (parse_expr(e, n, &m, &key, &keylen, err, errlen) != 0)
			goto fail;
		buf_append(&b, prev, (size_t)(open - prev));
		prev = p;
		switch (m) {
		case M_DS:
			time_format_date(ctx->logical_date, tbuf);
			buf_puts(&b, tbuf);
			break;
		case M_DS_NODASH:
			time_format_date_nodash(ctx->logical_date, tbuf);
			buf_puts(&b, tbuf);
			break;
		case M_TS:
		case M_LOGICAL_DATE:
			time_format_iso(ctx->logical_date, tbuf);
			buf_puts(&b, tbuf);
			break;
		case M_INTERVAL_START:
			time_format_iso(ctx->data_interval_start, tbuf);
			buf_puts(&b, tbuf);
			break;
		case M_INTERVAL_END:
			time_format_iso(ctx->data_interval_end, tbuf);
			buf_puts(&b, tbuf);
			break;
		case M_DAG_ID:
			buf_puts(&b, ctx->dag_id);
			break;
		case M_TASK_ID:
			buf_puts(&b, ctx->task_id);
			break;
		case M_RUN_ID:
			buf_puts(&b, ctx->run_id);
			break;
		case M_PARAM: {
			const cJSON *v;

			snprintf(name, sizeof(name), "%.*s", (int)keylen, key);
			v = ctx->params ? cJSON_GetObjectItemCaseSensitive(ctx->params, name) : NULL;
			if (v == NULL) {
				snprintf(err, errlen, "params.%s is not defined (add it to the DAG's "
				    "params or the run's conf)", name);
				goto fail;
			}
			if (render_param(&b, v, name, err, errlen) != 0)
				goto fail;
			break;
		}
		case M_VAR: {
			char *v = NULL;

			snprintf(name, sizeof(name), "%.*s", (int)keylen, key);
			if (ctx->var_get == NULL || ctx->var_get(ctx->var_arg, name, &v) != 0) {
				snprintf(err, errlen, "var.value.%s is not set (sta variables set %s VALUE)",
				    name, name);
				goto fail;
			}
			buf_puts(&b, v);
			free(v);
			break;
		}
		}
	}
	if (rc < 0)
		goto fail;
	buf_puts(&b, prev);
	*out = buf_detach(&b);
	return 0;
fail:
	buf_free(&b);
	return -1;
}
