/*
 * dag.c: loads DAG files (docs/dags.md) and validates them, collecting
 * every problem as "file:line:col: message" from libyaml's marks; builds
 * the task graph (upstream, downstream, topological order) and rejects
 * cycles, naming them.
 *
 * The file is read through libyaml's event API into a compact tree
 * (struct ydoc: 20 bytes a node, every scalar in one text buffer) rather
 * than a yaml_document_t (96 bytes, a tag string and an item stack per
 * node), and the tree is gone once the DAG is built: the scheduler holds
 * every DAG, and a 10,000-task one must load well inside its 32 MB.
 */
#include "runner/dag.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <yaml.h>

#include "lib/fsutil.h"
#include "runner/duration.h"
#include "runner/template.h"

#define ID_MAX 250
/* The tree's offsets and counts are 32-bit; a file of at most 1 GiB keeps
 * them in range (nodes, children and text each stay under 4 GiB). */
#define FILE_MAX ((size_t)1 << 30)

/* A YAML node: what the loader reads of it, nothing more. */
struct ynode {
	uint8_t type;           /* yaml_node_type_t */
	uint8_t style;          /* scalars: yaml_scalar_style_t */
	uint8_t one_line;       /* scalars: start and end on one line */
	uint32_t line, col;     /* start mark, 0-based as libyaml's */
	uint32_t at, n;         /* scalar: offset in text and length;
	                         * sequence: offset in kids and item count;
	                         * mapping: offset in kids (key, value, key,
	                         * value...) and pair count */
};

/* The first document of a file.  Aliases are resolved: an alias is the
 * anchored node itself, as in libyaml's loader. */
struct ydoc {
	struct ynode *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *kids;         /* node indices, each collection's together */
	size_t n_kids, cap_kids;
	char *text;             /* scalar values, each NUL-terminated */
	size_t n_text, cap_text;
	const struct ynode *root;       /* NULL: no document */
};

struct loader {
	const char *path;
	struct ydoc doc;
	struct dag_errors *errs;
	int n_errors;
};

static const char *const trigger_names[] = {
	"all_success", "all_failed", "all_done", "one_success", "one_failed",
	"none_failed", "none_failed_min_one_success", "none_skipped", "always",
};

const char *
trigger_rule_name(enum trigger_rule r)
{
	return (size_t)r < ARRAY_LEN(trigger_names) ? trigger_names[r] : "?";
}

int
trigger_rule_parse(const char *name, enum trigger_rule *out)
{
	for (size_t i = 0; i < ARRAY_LEN(trigger_names); i++) {
		if (strcmp(name, trigger_names[i]) == 0) {
			*out = (enum trigger_rule)i;
			return 0;
		}
	}
	return -1;
}

static void PRINTF_LIKE(4, 5)
err_at(struct loader *l, size_t line, size_t col, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	buf_printf(&b, "%s:%zu:%zu: ", l->path, line + 1, col + 1);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	strv_push_take(&l->errs->msgs, buf_detach(&b));
	l->n_errors++;
}

#define ERR(l, node, ...) err_at((l), (node)->line, (node)->col, __VA_ARGS__)

/* Grows an array to hold need elements (doubling); returns it. */
static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	*cap = c;
	return xreallocarray(p, c, size);
}

/* ------------------------------------------------------- the YAML tree */

/* Builds the tree from libyaml's events as libyaml's loader builds its
 * document: collections open on their start event, their finished
 * children wait in work until the end event moves them to kids. */
struct compose {
	uint32_t *work;
	size_t n_work, cap_work;
	struct open { uint32_t node; size_t base; } *open;
	size_t n_open, cap_open;
	struct anchor { char *name; uint32_t node; } *anchors;
	size_t n_anchors, cap_anchors;
	uint32_t root;
	int have_root;
};

/* Reports a YAML error as the loader always has: libyaml's problem, then
 * its context, at the problem's mark. */
static void
yaml_error(struct loader *l, const char *problem, const char *context, yaml_mark_t mark)
{
	err_at(l, mark.line, mark.column, "YAML: %s%s%s",
	    problem ? problem : "syntax error", context ? " " : "", context ? context : "");
}

static void
compose_done(struct compose *c, uint32_t node)
{
	if (c->n_open == 0) {
		c->root = node;
		c->have_root = 1;
		return;
	}
	c->work = grow(c->work, &c->cap_work, c->n_work + 1, sizeof(*c->work));
	c->work[c->n_work++] = node;
}

/* libyaml's messages (loader.c), so files fail as they did. */
static int
compose_anchor(struct loader *l, struct compose *c, const yaml_char_t *name,
    uint32_t node, yaml_mark_t mark)
{
	for (size_t i = 0; i < c->n_anchors; i++) {
		if (strcmp(c->anchors[i].name, (const char *)name) == 0) {
			yaml_error(l, "second occurrence", "found duplicate anchor; first occurrence",
			    mark);
			return -1;
		}
	}
	c->anchors = grow(c->anchors, &c->cap_anchors, c->n_anchors + 1, sizeof(*c->anchors));
	c->anchors[c->n_anchors].name = xstrdup((const char *)name);
	c->anchors[c->n_anchors++].node = node;
	return 0;
}

static int
compose_alias(struct loader *l, struct compose *c, const yaml_event_t *ev)
{
	for (size_t i = 0; i < c->n_anchors; i++) {
		if (strcmp(c->anchors[i].name, (const char *)ev->data.alias.anchor) == 0) {
			compose_done(c, c->anchors[i].node);
			return 0;
		}
	}
	yaml_error(l, "found undefined alias", NULL, ev->start_mark);
	return -1;
}

/* A scalar, or the start of a sequence or mapping. */
static int
compose_node(struct loader *l, struct compose *c, const yaml_event_t *ev)
{
	struct ydoc *d = &l->doc;
	uint32_t i = (uint32_t)d->n_nodes;
	const yaml_char_t *anchor;
	struct ynode *n;

	d->nodes = grow(d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof(*d->nodes));
	n = &d->nodes[d->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->line = (uint32_t)ev->start_mark.line;
	n->col = (uint32_t)ev->start_mark.column;
	if (ev->type == YAML_SCALAR_EVENT) {
		size_t len = ev->data.scalar.length;

		n->type = YAML_SCALAR_NODE;
		n->style = (uint8_t)ev->data.scalar.style;
		n->one_line = ev->start_mark.line == ev->end_mark.line;
		d->text = grow(d->text, &d->cap_text, d->n_text + len + 1, 1);
		memcpy(d->text + d->n_text, ev->data.scalar.value, len);
		d->text[d->n_text + len] = '\0';
		n->at = (uint32_t)d->n_text;
		n->n = (uint32_t)len;
		d->n_text += len + 1;
		anchor = ev->data.scalar.anchor;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		n->type = YAML_SEQUENCE_NODE;
		anchor = ev->data.sequence_start.anchor;
	} else {
		n->type = YAML_MAPPING_NODE;
		anchor = ev->data.mapping_start.anchor;
	}
	if (anchor != NULL && compose_anchor(l, c, anchor, i, ev->start_mark) != 0)
		return -1;
	if (ev->type == YAML_SCALAR_EVENT) {
		compose_done(c, i);
	} else {
		c->open = grow(c->open, &c->cap_open, c->n_open + 1, sizeof(*c->open));
		c->open[c->n_open].node = i;
		c->open[c->n_open++].base = c->n_work;
	}
	return 0;
}

/* The end of the innermost open collection. */
static void
compose_end(struct loader *l, struct compose *c)
{
	struct ydoc *d = &l->doc;
	struct open o = c->open[--c->n_open];
	size_t k = c->n_work - o.base;
	struct ynode *n = &d->nodes[o.node];

	d->kids = grow(d->kids, &d->cap_kids, d->n_kids + k, sizeof(*d->kids));
	if (k > 0)
		memcpy(d->kids + d->n_kids, c->work + o.base, k * sizeof(*d->kids));
	n->at = (uint32_t)d->n_kids;
	n->n = (uint32_t)(n->type == YAML_MAPPING_NODE ? k / 2 : k);
	d->n_kids += k;
	c->n_work = o.base;
	compose_done(c, o.node);
}

/* Reads the parser's first document into l->doc.  Returns 0, or -1 with
 * the YAML error reported. */
static int
ydoc_load(struct loader *l, yaml_parser_t *parser)
{
	struct compose c = {0};
	yaml_event_t ev;
	int rc = 1;

	while (rc == 1) {
		if (!yaml_parser_parse(parser, &ev)) {
			yaml_error(l, parser->problem, parser->context, parser->problem_mark);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			rc = 0;
			break;
		case YAML_ALIAS_EVENT:
			if (compose_alias(l, &c, &ev) != 0)
				rc = -1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (compose_node(l, &c, &ev) != 0)
				rc = -1;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			compose_end(l, &c);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (rc == 0 && c.have_root)
		l->doc.root = &l->doc.nodes[c.root];
	for (size_t i = 0; i < c.n_anchors; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	free(c.open);
	free(c.work);
	return rc;
}

static void
ydoc_free(struct ydoc *d)
{
	free(d->nodes);
	free(d->kids);
	free(d->text);
	memset(d, 0, sizeof(*d));
}

/* Child i of a collection (for a mapping: 2p is pair p's key, 2p+1 its
 * value). */
static const struct ynode *
kid(const struct loader *l, const struct ynode *n, size_t i)
{
	return &l->doc.nodes[l->doc.kids[n->at + i]];
}

static const char *
scalar(const struct loader *l, const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE ? l->doc.text + n->at : NULL;
}

static int
is_null(const struct loader *l, const struct ynode *n)
{
	const char *s = scalar(l, n);

	return s != NULL && n->style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == '\0');
}

static const char *
type_name(const struct ynode *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

/* Levenshtein distance, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

static void
err_unknown_key(struct loader *l, const struct ynode *k, const char *const *known, size_t n,
    const char *where)
{
	const char *key = scalar(l, k), *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; known[i] != NULL && i < n; i++) {
		size_t d = edit_distance(key, known[i]);

		if (d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	if (best != NULL)
		ERR(l, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, best);
	else
		ERR(l, k, "unknown key '%s' in %s", key, where);
}

static const char *
get_string(struct loader *l, const struct ynode *n, const char *field)
{
	const char *s = scalar(l, n);

	if (s == NULL || is_null(l, n)) {
		ERR(l, n, "%s: expected a string, got %s", field, s ? "null" : type_name(n));
		return NULL;
	}
	return s;
}

static int
get_int(struct loader *l, const struct ynode *n, const char *field, int64_t lo,
    int64_t hi, int64_t *out)
{
	const char *s = scalar(l, n);

	if (s == NULL || n->style != YAML_PLAIN_SCALAR_STYLE ||
	    parse_int64(s, out) != 0) {
		ERR(l, n, "%s: expected an integer, got '%s'", field, s ? s : type_name(n));
		return -1;
	}
	if (*out < lo || *out > hi) {
		ERR(l, n, "%s: %s out of range %lld-%lld", field, s, (long long)lo, (long long)hi);
		return -1;
	}
	return 0;
}

static int
get_bool(struct loader *l, const struct ynode *n, const char *field, int *out)
{
	const char *s = scalar(l, n);

	if (s != NULL && n->style == YAML_PLAIN_SCALAR_STYLE) {
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0) {
			*out = 0;
			return 0;
		}
	}
	ERR(l, n, "%s: expected true or false, got '%s'", field, s ? s : type_name(n));
	return -1;
}

static int
get_duration(struct loader *l, const struct ynode *n, const char *field, int64_t *out)
{
	const char *s = scalar(l, n);
	char err[256];

	if (s == NULL || is_null(l, n)) {
		ERR(l, n, "%s: expected a duration such as 30s, 5m, 15h or 2d", field);
		return -1;
	}
	if (duration_parse(s, out, err, sizeof(err)) != 0) {
		ERR(l, n, "%s: %s", field, err);
		return -1;
	}
	return 0;
}

static int
get_date(struct loader *l, const struct ynode *n, const char *field, sta_time *out)
{
	const char *s = scalar(l, n);

	if (s == NULL || time_parse(s, out) != 0) {
		ERR(l, n, "%s: expected a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC), got '%s'",
		    field, s ? s : type_name(n));
		return -1;
	}
	return 0;
}

static int
id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* Checks a template and reports the exact column of a bad "{{" when the
 * scalar is on one line. */
static void
check_template(struct loader *l, const struct ynode *n, const char *field)
{
	const char *s = scalar(l, n);
	size_t off, col;
	char err[512];

	if (s == NULL || template_check(s, &off, err, sizeof(err)) == 0)
		return;
	col = n->col;
	if (n->one_line) {
		int quoted = n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		    n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

		col += off + (size_t)quoted;
	}
	err_at(l, n->line, col, "%s: %s", field, err);
}

/* Converts a YAML node into JSON: plain scalars that look like integers,
 * booleans or null become those; everything else is a string. */
static cJSON *
node_json(struct loader *l, const struct ynode *n)
{
	cJSON *o;

	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = scalar(l, n);
		int64_t v;

		if (n->style == YAML_PLAIN_SCALAR_STYLE) {
			if (is_null(l, n))
				return cJSON_CreateNull();
			if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
				return cJSON_CreateBool(s[0] == 't');
			if (parse_int64(s, &v) == 0)
				return cJSON_CreateNumber((double)v);
		}
		return cJSON_CreateString(s);
	}
	case YAML_SEQUENCE_NODE:
		o = cJSON_CreateArray();
		for (size_t i = 0; i < n->n; i++)
			cJSON_AddItemToArray(o, node_json(l, kid(l, n, i)));
		return o;
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		for (size_t p = 0; p < n->n; p++) {
			const char *k = scalar(l, kid(l, n, 2 * p));

			cJSON_AddItemToObject(o, k ? k : "?", node_json(l, kid(l, n, 2 * p + 1)));
		}
		return o;
	default:
		return cJSON_CreateNull();
	}
}

/* Iterates a mapping's pairs, reporting non-string and duplicate keys. */
struct pairs {
	struct loader *l;
	const struct ynode *map;
	size_t next;                    /* pair index */
	const struct ynode *key, *value;
};

static int
pairs_next(struct pairs *it)
{
	struct loader *l = it->l;

	while (it->next < it->map->n) {
		size_t p = it->next++;
		const char *k;
		int dup = 0;

		it->key = kid(l, it->map, 2 * p);
		it->value = kid(l, it->map, 2 * p + 1);
		if ((k = scalar(l, it->key)) == NULL) {
			ERR(l, it->key, "keys must be strings, got %s", type_name(it->key));
			continue;
		}
		for (size_t q = 0; q < p; q++) {
			const char *kq = scalar(l, kid(l, it->map, 2 * q));

			if (kq != NULL && strcmp(kq, k) == 0)
				dup = 1;
		}
		if (dup) {
			ERR(l, it->key, "duplicate key '%s'", k);
			continue;
		}
		return 1;
	}
	return 0;
}

static int
expect_mapping(struct loader *l, const struct ynode *n, const char *field)
{
	if (n->type == YAML_MAPPING_NODE)
		return 0;
	ERR(l, n, "%s: expected a mapping, got %s", field, type_name(n));
	return -1;
}

static const char *const arg_keys[] = {
	"retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
	"execution_timeout", "executor", "image", "env", "resources", "pool",
	"pool_slots", "priority_weight", NULL,
};

static void
args_defaults(struct task_args *a)
{
	memset(a, 0, sizeof(*a));
	a->retry_delay = 300;
	a->executor = xstrdup("local");
	a->pool = xstrdup("default_pool");
	a->pool_slots = 1;
	a->priority_weight = 1;
}

static void
args_free(struct task_args *a)
{
	free(a->executor);
	free(a->image);
	free(a->pool);
	for (size_t i = 0; i < a->n_env; i++) {
		free(a->env[i].key);
		free(a->env[i].value);
	}
	free(a->env);
	cJSON_Delete(a->resources);
}

static void
args_copy(struct task_args *dst, const struct task_args *src)
{
	*dst = *src;
	dst->executor = xstrdup(src->executor);
	dst->pool = xstrdup(src->pool);
	dst->image = src->image ? xstrdup(src->image) : NULL;
	dst->resources = src->resources ? cJSON_Duplicate(src->resources, 1) : NULL;
	dst->env = src->n_env ? xcalloc(src->n_env, sizeof(*dst->env)) : NULL;
	for (size_t i = 0; i < src->n_env; i++) {
		dst->env[i].key = xstrdup(src->env[i].key);
		dst->env[i].value = xstrdup(src->env[i].value);
	}
}

static void
env_set(struct task_args *a, const char *k, const char *v)
{
	for (size_t i = 0; i < a->n_env; i++) {
		if (strcmp(a->env[i].key, k) == 0) {
			free(a->env[i].value);
			a->env[i].value = xstrdup(v);
			return;
		}
	}
	a->env = xreallocarray(a->env, a->n_env + 1, sizeof(*a->env));
	a->env[a->n_env].key = xstrdup(k);
	a->env[a->n_env].value = xstrdup(v);
	a->n_env++;
}

/* Applies one default_args key; returns 0 if key is not an args key. */
static int
arg_apply(struct loader *l, struct task_args *a, const char *key, const struct ynode *v)
{
	int64_t i;
	const char *s;

	if (strcmp(key, "retries") == 0) {
		if (get_int(l, v, key, 0, 1000, &i) == 0)
			a->retries = (int)i;
	} else if (strcmp(key, "retry_delay") == 0) {
		get_duration(l, v, key, &a->retry_delay);
	} else if (strcmp(key, "retry_exponential_backoff") == 0) {
		get_bool(l, v, key, &a->retry_exponential_backoff);
	} else if (strcmp(key, "max_retry_delay") == 0) {
		get_duration(l, v, key, &a->max_retry_delay);
	} else if (strcmp(key, "execution_timeout") == 0) {
		get_duration(l, v, key, &a->execution_timeout);
	} else if (strcmp(key, "executor") == 0) {
		if ((s = get_string(l, v, key)) != NULL) {
			if (strcmp(s, "local") != 0 && strcmp(s, "kubernetes") != 0)
				ERR(l, v, "executor: expected local or kubernetes, got '%s'", s);
			free(a->executor);
			a->executor = xstrdup(s);
		}
	} else if (strcmp(key, "image") == 0) {
		if ((s = get_string(l, v, key)) != NULL) {
			free(a->image);
			a->image = xstrdup(s);
		}
	} else if (strcmp(key, "pool") == 0) {
		if ((s = get_string(l, v, key)) != NULL) {
			free(a->pool);
			a->pool = xstrdup(s);
		}
	} else if (strcmp(key, "pool_slots") == 0) {
		if (get_int(l, v, key, 1, 100000, &i) == 0)
			a->pool_slots = (int)i;
	} else if (strcmp(key, "priority_weight") == 0) {
		if (get_int(l, v, key, -1000000, 1000000, &i) == 0)
			a->priority_weight = (int)i;
	} else if (strcmp(key, "resources") == 0) {
		if (expect_mapping(l, v, key) == 0) {
			cJSON_Delete(a->resources);
			a->resources = node_json(l, v);
		}
	} else if (strcmp(key, "env") == 0) {
		struct pairs it = { .l = l, .map = v };

		if (expect_mapping(l, v, key) != 0)
			return 1;
		while (pairs_next(&it)) {
			const char *val = scalar(l, it.value);

			if (val == NULL) {
				ERR(l, it.value, "env.%s: expected a string, got %s",
				    scalar(l, it.key), type_name(it.value));
				continue;
			}
			check_template(l, it.value, "env");
			env_set(a, scalar(l, it.key), val);
		}
	} else {
		return 0;
	}
	return 1;
}

static void
parse_default_args(struct loader *l, const struct ynode *n, struct task_args *a)
{
	struct pairs it = { .l = l, .map = n };

	if (expect_mapping(l, n, "default_args") != 0)
		return;
	while (pairs_next(&it))
		if (!arg_apply(l, a, scalar(l, it.key), it.value))
			err_unknown_key(l, it.key, arg_keys, 99, "default_args");
}

static const char *const task_keys[] = {
	"command", "depends_on", "trigger_rule", "retries", "retry_delay",
	"retry_exponential_backoff", "max_retry_delay", "execution_timeout",
	"executor", "image", "env", "resources", "pool", "pool_slots",
	"priority_weight", NULL,
};

/* Parses one task; its depends_on names go to deps (resolved later). */
static void
parse_task(struct loader *l, struct dag_task *t, const struct ynode *key,
    const struct ynode *n, const struct task_args *defaults, struct strv *deps,
    struct strv *dep_pos)
{
	struct pairs it = { .l = l, .map = n };
	int have_command = 0;

	t->task_id = xstrdup(scalar(l, key));
	t->line = (int)key->line + 1;
	t->col = (int)key->col + 1;
	args_copy(&t->args, defaults);
	if (!id_ok(t->task_id))
		ERR(l, key, "task id '%s': use 1-%d of A-Z a-z 0-9 _ . -", t->task_id, ID_MAX);
	if (expect_mapping(l, n, t->task_id) != 0)
		return;
	while (pairs_next(&it)) {
		const char *k = scalar(l, it.key);

		if (strcmp(k, "command") == 0) {
			have_command = 1;
			if (it.value->type != YAML_SEQUENCE_NODE) {
				ERR(l, it.value, "command must be a list (argv); write [sh, -c, '...'] "
				    "for a shell");
				continue;
			}
			for (size_t i = 0; i < it.value->n; i++) {
				const struct ynode *e = kid(l, it.value, i);

				if (scalar(l, e) == NULL) {
					ERR(l, e, "command: each element must be a string, got %s",
					    type_name(e));
					continue;
				}
				check_template(l, e, "command");
				strv_push(&t->command, scalar(l, e));
			}
			if (t->command.n == 0)
				ERR(l, it.value, "command: the list is empty");
		} else if (strcmp(k, "depends_on") == 0) {
			if (scalar(l, it.value) != NULL && !is_null(l, it.value)) {
				strv_push(deps, scalar(l, it.value));
				strv_push_take(dep_pos, xasprintf("%zu:%zu", (size_t)it.value->line,
				    (size_t)it.value->col));
			} else if (it.value->type == YAML_SEQUENCE_NODE) {
				for (size_t i = 0; i < it.value->n; i++) {
					const struct ynode *e = kid(l, it.value, i);

					if (scalar(l, e) == NULL) {
						ERR(l, e, "depends_on: expected task ids");
						continue;
					}
					strv_push(deps, scalar(l, e));
					strv_push_take(dep_pos, xasprintf("%zu:%zu", (size_t)e->line,
					    (size_t)e->col));
				}
			} else if (!is_null(l, it.value)) {
				ERR(l, it.value, "depends_on: expected a task id or a list of them");
			}
		} else if (strcmp(k, "trigger_rule") == 0) {
			const char *s = get_string(l, it.value, k);

			if (s != NULL && trigger_rule_parse(s, &t->trigger_rule) != 0)
				ERR(l, it.value, "trigger_rule: unknown rule '%s' (all_success, all_failed, "
				    "all_done, one_success, one_failed, none_failed, "
				    "none_failed_min_one_success, none_skipped, always)", s);
		} else if (!arg_apply(l, &t->args, k, it.value)) {
			err_unknown_key(l, it.key, task_keys, 99, "a task");
		}
	}
	if (!have_command)
		ERR(l, key, "task '%s' has no command", t->task_id);
}

/* Depth-first search for a cycle; reports the first found, by name. */
static int
find_cycle(struct loader *l, struct dag *dag, size_t i, int *color, size_t *stack,
    size_t depth)
{
	color[i] = 1;
	stack[depth] = i;
	for (size_t u = 0; u < dag->tasks[i].n_upstream; u++) {
		size_t j = dag->tasks[i].upstream[u];

		if (color[j] == 1) {
			struct buf b = {0};
			size_t k = depth;

			while (stack[k] != j)
				k--;
			/* stack[k..depth] walks downstream-to-upstream: print as a -> b */
			for (size_t m = depth + 1; m-- > k;)
				buf_printf(&b, "%s -> ", dag->tasks[stack[m]].task_id);
			buf_puts(&b, dag->tasks[stack[depth]].task_id);
			err_at(l, (size_t)dag->tasks[j].line - 1, (size_t)dag->tasks[j].col - 1,
			    "cycle: %s", b.data);
			buf_free(&b);
			return 1;
		}
		if (color[j] == 0 && find_cycle(l, dag, j, color, stack, depth + 1))
			return 1;
	}
	color[i] = 2;
	return 0;
}

/* Resolves depends_on, builds downstream lists and a topological order. */
static void
build_graph(struct loader *l, struct dag *dag, struct strv *deps, struct strv *pos)
{
	size_t n = dag->n_tasks, *indeg, *queue, qh = 0, qt = 0;
	int *color;

	for (size_t i = 0; i < n; i++) {
		struct dag_task *t = &dag->tasks[i];

		for (size_t d = 0; d < deps[i].n; d++) {
			ssize_t j = dag_task_index(dag, deps[i].v[d]);
			size_t line = 0, col = 0;

			sscanf(pos[i].v[d], "%zu:%zu", &line, &col);
			if (j < 0) {
				err_at(l, line, col, "task '%s' depends on '%s', which is not a task "
				    "of this DAG", t->task_id, deps[i].v[d]);
				continue;
			}
			int dup = 0;
			for (size_t u = 0; u < t->n_upstream; u++)
				dup |= t->upstream[u] == (size_t)j;
			if (dup)
				continue;
			t->upstream = xreallocarray(t->upstream, t->n_upstream + 1, sizeof(size_t));
			t->upstream[t->n_upstream++] = (size_t)j;
			struct dag_task *u = &dag->tasks[j];
			u->downstream = xreallocarray(u->downstream, u->n_downstream + 1, sizeof(size_t));
			u->downstream[u->n_downstream++] = i;
		}
	}
	color = xcalloc(n ? n : 1, sizeof(int));
	queue = xcalloc(n ? n : 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		if (color[i] == 0 && find_cycle(l, dag, i, color, queue, 0))
			break;
	/* Kahn's algorithm, stable by file order. */
	indeg = xcalloc(n ? n : 1, sizeof(size_t));
	dag->topo = xcalloc(n ? n : 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		indeg[i] = dag->tasks[i].n_upstream;
		if (indeg[i] == 0)
			queue[qt++] = i;
	}
	while (qh < qt) {
		size_t i = queue[qh++];

		dag->topo[qh - 1] = i;
		for (size_t d = 0; d < dag->tasks[i].n_downstream; d++)
			if (--indeg[dag->tasks[i].downstream[d]] == 0)
				queue[qt++] = dag->tasks[i].downstream[d];
	}
	free(indeg);
	free(queue);
	free(color);
}

static const char *const dag_keys[] = {
	"dag_id", "description", "schedule", "start_date", "end_date", "catchup",
	"max_active_runs", "max_active_tasks", "tags", "params", "default_args",
	"tasks", NULL,
};

static void
parse_tasks(struct loader *l, struct dag *dag, const struct ynode *n,
    const struct task_args *defaults)
{
	size_t count = 0, k = 0;
	struct strv *deps, *pos;

	if (expect_mapping(l, n, "tasks") != 0)
		return;
	count = n->n;
	if (count == 0) {
		ERR(l, n, "tasks: a DAG needs at least one task");
		return;
	}
	dag->tasks = xcalloc(count, sizeof(*dag->tasks));
	deps = xcalloc(count, sizeof(*deps));
	pos = xcalloc(count, sizeof(*pos));
	struct pairs it = { .l = l, .map = n };
	while (pairs_next(&it)) {
		parse_task(l, &dag->tasks[k], it.key, it.value, defaults, &deps[k], &pos[k]);
		k++;
	}
	dag->n_tasks = k;
	build_graph(l, dag, deps, pos);
	for (size_t i = 0; i < count; i++) {
		strv_free(&deps[i]);
		strv_free(&pos[i]);
	}
	free(deps);
	free(pos);
}

static void
parse_dag(struct loader *l, struct dag *dag, const struct ynode *root)
{
	struct task_args defaults;
	const struct ynode *tasks = NULL, *sched_node = NULL;
	int have_start = 0;
	struct pairs it = { .l = l, .map = root };

	args_defaults(&defaults);
	/* default_args first: tasks inherit it wherever it is in the file.
	 * (A plain scan: duplicate keys are reported by the pass below.) */
	for (size_t p = 0; p < root->n; p++) {
		const char *k = scalar(l, kid(l, root, 2 * p));

		if (k != NULL && strcmp(k, "default_args") == 0) {
			parse_default_args(l, kid(l, root, 2 * p + 1), &defaults);
			break;
		}
	}
	while (pairs_next(&it)) {
		const char *k = scalar(l, it.key);
		const struct ynode *v = it.value;
		const char *s;
		int64_t i;

		if (strcmp(k, "dag_id") == 0) {
			if ((s = get_string(l, v, k)) != NULL) {
				if (!id_ok(s))
					ERR(l, v, "dag_id '%s': use 1-%d of A-Z a-z 0-9 _ . -", s, ID_MAX);
				dag->dag_id = xstrdup(s);
			}
		} else if (strcmp(k, "description") == 0) {
			if (!is_null(l, v) && (s = get_string(l, v, k)) != NULL)
				dag->description = xstrdup(s);
		} else if (strcmp(k, "schedule") == 0) {
			char err[512];

			sched_node = v;
			if (is_null(l, v))
				continue;
			if ((s = get_string(l, v, k)) == NULL)
				continue;
			dag->schedule = schedule_parse(s, err, sizeof(err));
			if (dag->schedule == NULL)
				ERR(l, v, "schedule: %s", err);
		} else if (strcmp(k, "start_date") == 0) {
			have_start = get_date(l, v, k, &dag->start_date) == 0;
		} else if (strcmp(k, "end_date") == 0) {
			if (!is_null(l, v))
				dag->has_end_date = get_date(l, v, k, &dag->end_date) == 0;
		} else if (strcmp(k, "catchup") == 0) {
			get_bool(l, v, k, &dag->catchup);
		} else if (strcmp(k, "max_active_runs") == 0) {
			if (get_int(l, v, k, 1, 100000, &i) == 0)
				dag->max_active_runs = (int)i;
		} else if (strcmp(k, "max_active_tasks") == 0) {
			if (get_int(l, v, k, 1, 100000, &i) == 0)
				dag->max_active_tasks = (int)i;
		} else if (strcmp(k, "tags") == 0) {
			if (v->type != YAML_SEQUENCE_NODE) {
				ERR(l, v, "tags: expected a list of strings, got %s", type_name(v));
				continue;
			}
			for (size_t t = 0; t < v->n; t++) {
				const struct ynode *e = kid(l, v, t);

				if ((s = get_string(l, e, "tags")) != NULL)
					strv_push(&dag->tags, s);
			}
		} else if (strcmp(k, "params") == 0) {
			if (!is_null(l, v) && expect_mapping(l, v, k) == 0) {
				cJSON_Delete(dag->params);
				dag->params = node_json(l, v);
			}
		} else if (strcmp(k, "default_args") == 0) {
			continue;
		} else if (strcmp(k, "tasks") == 0) {
			tasks = v;
		} else {
			err_unknown_key(l, it.key, dag_keys, 99, "a DAG");
		}
	}
	if (dag->dag_id == NULL)
		err_at(l, root->line, root->col, "missing required key 'dag_id'");
	if (dag->schedule != NULL && !have_start)
		ERR(l, sched_node, "a scheduled DAG needs a start_date");
	if (dag->has_end_date && have_start && dag->end_date < dag->start_date)
		err_at(l, root->line, root->col,
		    "end_date is before start_date");
	if (tasks == NULL)
		err_at(l, root->line, root->col, "missing required key 'tasks'");
	else
		parse_tasks(l, dag, tasks, &defaults);
	args_free(&defaults);
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)data, len);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

struct dag *
dag_load_file(const char *path, struct dag_errors *errs)
{
	struct loader l = { .path = path, .errs = errs };
	yaml_parser_t parser;
	struct dag *dag = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fs_read_file(path, &data, &len) != 0) {
		strv_push_take(&errs->msgs, xasprintf("%s:1:1: cannot read: %s", path, strerror(errno)));
		return NULL;
	}
	if (len > FILE_MAX) {
		strv_push_take(&errs->msgs, xasprintf("%s:1:1: cannot read: larger than %zu MiB",
		    path, FILE_MAX >> 20));
		free(data);
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	rc = ydoc_load(&l, &parser);
	yaml_parser_delete(&parser);
	if (rc != 0) {
		ydoc_free(&l.doc);
		free(data);
		return NULL;
	}
	dag = xcalloc(1, sizeof(*dag));
	dag->fileloc = xstrdup(path);
	dag->catchup = 1;
	dag->max_active_runs = 16;
	dag->max_active_tasks = 16;
	dag->params = cJSON_CreateObject();
	sha256_hex(data, len, dag->file_hash);
	free(data);
	if (l.doc.root == NULL) {
		err_at(&l, 0, 0, "the file is empty: a DAG needs dag_id and tasks");
	} else if (l.doc.root->type != YAML_MAPPING_NODE) {
		ERR(&l, l.doc.root, "a DAG file must be a mapping (dag_id: ..., tasks: ...)");
	} else {
		parse_dag(&l, dag, l.doc.root);
	}
	ydoc_free(&l.doc);
	if (l.n_errors > 0) {
		dag_free(dag);
		return NULL;
	}
	return dag;
}

void
dag_free(struct dag *dag)
{
	if (dag == NULL)
		return;
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct dag_task *t = &dag->tasks[i];

		free(t->task_id);
		strv_free(&t->command);
		args_free(&t->args);
		free(t->upstream);
		free(t->downstream);
	}
	free(dag->tasks);
	free(dag->topo);
	free(dag->dag_id);
	free(dag->description);
	free(dag->fileloc);
	schedule_free(dag->schedule);
	strv_free(&dag->tags);
	cJSON_Delete(dag->params);
	free(dag);
}

ssize_t
dag_task_index(const struct dag *dag, const char *task_id)
{
	for (size_t i = 0; i < dag->n_tasks; i++)
		if (dag->tasks[i].task_id != NULL && strcmp(dag->tasks[i].task_id, task_id) == 0)
			return (ssize_t)i;
	return -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
dag_load_folder(const char *dir, struct dag ***dags, size_t *n, struct dag_errors *errs)
{
	struct strv names = {0};
	struct dirent *de;
	DIR *d = opendir(dir);

	*dags = NULL;
	*n = 0;
	if (d == NULL) {
		strv_push_take(&errs->msgs, xasprintf("%s: cannot read the DAG folder: %s", dir,
		    strerror(errno)));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && (str_has_suffix(de->d_name, ".yaml") ||
		    str_has_suffix(de->d_name, ".yml")))
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n > 0)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	*dags = xcalloc(names.n ? names.n : 1, sizeof(**dags));
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", dir, names.v[i]);
		struct dag *dag = dag_load_file(path, errs);
		int dup = 0;

		for (size_t j = 0; dag != NULL && j < *n; j++) {
			if (strcmp((*dags)[j]->dag_id, dag->dag_id) == 0) {
				strv_push_take(&errs->msgs, xasprintf("%s:1:1: dag_id '%s' is already "
				    "defined in %s", path, dag->dag_id, (*dags)[j]->fileloc));
				dup = 1;
			}
		}
		if (dag != NULL && !dup)
			(*dags)[(*n)++] = dag;
		else
			dag_free(dag);
		free(path);
	}
	strv_free(&names);
	return 0;
}

void
dag_errors_free(struct dag_errors *errs)
{
	strv_free(&errs->msgs);
}
