/*
 * dag.c: loads DAG files (docs/dags.md) and validates them, collecting
 * every problem as "file:line:col: message" from libyaml's marks; builds
 * the task graph (upstream, downstream, topological order) and rejects
 * cycles, naming them.
 *
 * Memory, because the scheduler holds every DAG and a 10,000-task one must
 * load well inside its 32 MB: the file is read through libyaml's event API
 * into a compact tree (struct ydoc: 20 bytes a node, every scalar in one
 * text buffer) rather than a yaml_document_t (96 bytes, a tag string and
 * an item stack per node), and the tree is gone once the DAG is built.  A
 * DAG keeps its tasks' strings in one arena where repeated values
 * (commands, executors, pools, env) are stored once, every command's argv
 * in one array and every upstream and downstream list in one array; what
 * a task inherits from default_args (env, resources) is the DAG's copy.
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
#include "lib/log.h"
#include "runner/duration.h"
#include "runner/template.h"

#define ID_MAX 250
/* The tree's offsets and counts are 32-bit; a file of at most 1 GiB keeps
 * them in range (nodes, children and text each stay under 4 GiB). */
#define FILE_MAX ((size_t)1 << 30)
/* Collections nested in one another, aliases followed: what the walks of
 * the tree (node_json, cJSON's own) may recurse, and a bound on libyaml,
 * whose cost grows with the square of the depth. */
#define DEPTH_MAX 100
/* Nodes that aliases repeat, in all: what a file can add to the tree's
 * walks beyond what it writes out (8 levels of 10 aliases to the one
 * before were 10^8 nodes in params, 13 GB). */
#define REPEAT_MAX 100000

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

/* A file's document.  Aliases are resolved: an alias is the
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

/* A string arena block. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

/* What a DAG's tasks point into (see dag.h). */
struct dag_mem {
	struct chunk *chunks;   /* strings; the first is being filled */
	char **set;             /* interned strings, open addressing (loading only) */
	size_t set_n, set_cap;
	char **argv;            /* every command, each NULL-terminated */
	size_t n_argv, cap_argv;
	uint32_t *edges;        /* every upstream list, then every downstream list */
	uint32_t *by_id;        /* task indices sorted by task_id */
};

struct loader {
	const char *path;
	struct ydoc doc;
	struct dag_mem *mem;    /* of the DAG being built */
	struct dag_errors *errs;
	int n_errors;
	size_t n_env;		/* env entries held by all tasks' own copies */
	int env_full;		/* ENV_TOTAL_MAX passed (said once) */
};

/* A task that sets env gets its own copy of the DAG's: bounded, so a
 * small file cannot make the loader hold keys x tasks entries. */
#define ENV_TOTAL_MAX 1000000

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

/* Messages kept per file; the rest are counted (a file of 500,000
 * unknown keys held 372 MB of messages). */
#define ERRORS_SHOWN 100

static void PRINTF_LIKE(4, 5)
err_at(struct loader *l, size_t line, size_t col, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	if (l->n_errors++ >= ERRORS_SHOWN)
		return;
	buf_printf(&b, "%s:%zu:%zu: ", l->path, line + 1, col + 1);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	strv_push_take(&l->errs->msgs, buf_detach(&b));
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

static size_t
str_hash(const char *s)
{
	return (size_t)fnv1a(FNV1A_BASIS, s, strlen(s));
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
	struct span {           /* per node, aliases followed: */
		uint32_t nodes;         /* its nodes (saturating at UINT32_MAX) */
		uint8_t height;         /* collections nested, itself included */
	} *span;
	size_t cap_span;
	size_t repeated;        /* nodes the aliases so far repeat */
	struct anchor { char *name; uint32_t node; } *anchors;
	size_t n_anchors, cap_anchors;
	uint32_t *by_name;      /* open addressing: anchor index + 1, 0 free */
	size_t cap_by_name;     /* a power of 2, over twice n_anchors */
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

/* The mark of byte off of a UTF-8 text, as libyaml counts: lines after
 * '\n', columns in characters.  (libyaml's reader errors have only the
 * offset; their marks are 1:1.) */
static yaml_mark_t
offset_mark(const char *text, size_t off)
{
	yaml_mark_t m = { .index = off };

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static void
compose_done(struct compose *c, uint32_t node)
{
	struct span *p, *k = &c->span[node];

	if (c->n_open == 0) {
		c->root = node;
		c->have_root = 1;
		return;
	}
	p = &c->span[c->open[c->n_open - 1].node];
	p->nodes = k->nodes > UINT32_MAX - p->nodes ? UINT32_MAX : p->nodes + k->nodes;
	if (p->height < k->height + 1)
		p->height = (uint8_t)(k->height + 1);
	c->work = grow(c->work, &c->cap_work, c->n_work + 1, sizeof(*c->work));
	c->work[c->n_work++] = node;
}

/* Whether a node nesting height collections (see struct span) fits in
 * the open ones; if not, reports it at mark. */
static int
compose_fits(struct loader *l, const struct compose *c, unsigned height, yaml_mark_t mark)
{
	if (c->n_open + height <= DEPTH_MAX)
		return 0;
	err_at(l, mark.line, mark.column, "collections nested deeper than %d levels", DEPTH_MAX);
	return -1;
}

/* The slot of c->by_name that holds the anchor called name, or the free
 * one where it would go. */
static uint32_t *
anchor_slot(struct compose *c, const char *name)
{
	size_t mask = c->cap_by_name - 1, i;

	for (i = str_hash(name) & mask; c->by_name[i] != 0; i = (i + 1) & mask)
		if (strcmp(c->anchors[c->by_name[i] - 1].name, name) == 0)
			break;
	return &c->by_name[i];
}

/* The node an anchor names, or NULL when none has that name. */
static const struct anchor *
anchor_find(struct compose *c, const char *name)
{
	uint32_t a = c->cap_by_name > 0 ? *anchor_slot(c, name) : 0;

	return a > 0 ? &c->anchors[a - 1] : NULL;
}

static int
compose_anchor(struct loader *l, struct compose *c, const yaml_char_t *name,
    uint32_t node, yaml_mark_t mark)
{
	const struct anchor *first = anchor_find(c, (const char *)name);

	if (first != NULL) {
		const struct ynode *n = &l->doc.nodes[first->node];

		err_at(l, mark.line, mark.column, "YAML: anchor '%s' is defined twice, first at "
		    "%u:%u", name, n->line + 1, n->col + 1);
		return -1;
	}
	c->anchors = grow(c->anchors, &c->cap_anchors, c->n_anchors + 1, sizeof(*c->anchors));
	c->anchors[c->n_anchors].name = xstrdup((const char *)name);
	c->anchors[c->n_anchors++].node = node;
	if (2 * c->n_anchors >= c->cap_by_name) {
		free(c->by_name);
		c->cap_by_name = c->cap_by_name ? 2 * c->cap_by_name : 64;
		c->by_name = xcalloc(c->cap_by_name, sizeof(*c->by_name));
		for (size_t a = 0; a + 1 < c->n_anchors; a++)
			*anchor_slot(c, c->anchors[a].name) = (uint32_t)a + 1;
	}
	*anchor_slot(c, (const char *)name) = (uint32_t)c->n_anchors;
	return 0;
}

/* An alias is the anchored node, unless it is inside that node: a
 * collection containing itself has no JSON form, and walking it (params,
 * resources) would never end.  Nor may it nest collections deeper than
 * DEPTH_MAX, or bring what aliases repeat past REPEAT_MAX. */
static int
compose_alias(struct loader *l, struct compose *c, const yaml_event_t *ev)
{
	const struct anchor *a = anchor_find(c, (const char *)ev->data.alias.anchor);
	const struct span *sp;

	if (a == NULL) {
		yaml_error(l, "found undefined alias", NULL, ev->start_mark);
		return -1;
	}
	for (size_t o = 0; o < c->n_open; o++) {
		if (c->open[o].node == a->node) {
			yaml_error(l, "found an alias inside the node it names", NULL, ev->start_mark);
			return -1;
		}
	}
	sp = &c->span[a->node];
	if (compose_fits(l, c, sp->height, ev->start_mark) != 0)
		return -1;
	if (sp->nodes > REPEAT_MAX - c->repeated) {
		err_at(l, ev->start_mark.line, ev->start_mark.column, "alias '%s': aliases "
		    "repeat more than %d nodes in all", ev->data.alias.anchor, REPEAT_MAX);
		return -1;
	}
	c->repeated += sp->nodes;
	compose_done(c, a->node);
	return 0;
}

/* A scalar, or the start of a sequence or mapping. */
static int
compose_node(struct loader *l, struct compose *c, const yaml_event_t *ev)
{
	struct ydoc *d = &l->doc;
	uint32_t i = (uint32_t)d->n_nodes;
	const yaml_char_t *anchor;
	struct ynode *n;

	if (ev->type != YAML_SCALAR_EVENT && compose_fits(l, c, 1, ev->start_mark) != 0)
		return -1;
	/* "\0" in a quoted scalar: C strings would end there ("rm\0 -rf /"
	 * would run rm). */
	if (ev->type == YAML_SCALAR_EVENT &&
	    memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
		err_at(l, ev->start_mark.line, ev->start_mark.column, "NUL character in a string");
		return -1;
	}
	d->nodes = grow(d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof(*d->nodes));
	c->span = grow(c->span, &c->cap_span, d->n_nodes + 1, sizeof(*c->span));
	c->span[i].nodes = 1;
	c->span[i].height = ev->type != YAML_SCALAR_EVENT;
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

/* Reads the document of text (len bytes) into l->doc.  Returns 0, or -1
 * with the YAML error reported (a second document is one: it used to be
 * ignored, whatever it held). */
static int
ydoc_load(struct loader *l, const char *text, size_t len)
{
	yaml_parser_t parser;
	struct compose c = {0};
	yaml_event_t ev;
	int rc = 1, docs = 0;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (rc == 1) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_error(l, parser.problem, parser.context, parser.error == YAML_READER_ERROR ?
			    offset_mark(text, parser.problem_offset) : parser.problem_mark);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			rc = 0;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (docs++ > 0) {
				err_at(l, ev.start_mark.line, ev.start_mark.column,
				    "a DAG file holds one YAML document");
				rc = -1;
			}
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
	yaml_parser_delete(&parser);
	if (rc == 0 && c.have_root)
		l->doc.root = &l->doc.nodes[c.root];
	for (size_t i = 0; i < c.n_anchors; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	free(c.by_name);
	free(c.span);
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

static uint32_t
node_index(const struct loader *l, const struct ynode *n)
{
	return (uint32_t)(n - l->doc.nodes);
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

/* cJSON's numbers are doubles, exact for integers of smaller magnitude
 * (and templates render only those as integers: runner/template.c). */
#define JSON_INT_LIMIT ((int64_t)1 << 53)

enum scalar_as { AS_STRING, AS_NULL, AS_BOOL, AS_INT, AS_COLLECTION };

/* What a node is in JSON (params, resources, kubernetes): plain null, true,
 * false and integers below JSON_INT_LIMIT in magnitude (set in *v) are
 * themselves; any other scalar is its text: larger integers too, which as
 * text stay exact (a template renders them as written). */
/* An integer as YAML writes it may have a '+' (parse_int64 takes none). */
static const char *
yaml_int_text(const char *s)
{
	return s[0] == '+' && isdigit((unsigned char)s[1]) ? s + 1 : s;
}

static enum scalar_as
scalar_as(const struct loader *l, const struct ynode *n, int64_t *v)
{
	const char *s = scalar(l, n);

	if (s == NULL)
		return AS_COLLECTION;
	if (n->style != YAML_PLAIN_SCALAR_STYLE)
		return AS_STRING;
	if (is_null(l, n))
		return AS_NULL;
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
		return AS_BOOL;
	if (parse_int64(yaml_int_text(s), v) == 0 && *v > -JSON_INT_LIMIT && *v < JSON_INT_LIMIT)
		return AS_INT;
	return AS_STRING;
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

/* ---------------------------------------------------- the DAG's memory */

/* Copies s (len bytes) into the arena; the copy lives as long as the DAG. */
static char *
mem_strndup(struct dag_mem *m, const char *s, size_t len)
{
	struct chunk *c = m->chunks;
	char *p;

	if (c == NULL || c->cap - c->used <= len) {
		size_t cap = c == NULL ? 1024 : c->cap < 65536 ? c->cap * 2 : 65536;
		struct chunk *nc;

		if (cap <= len)
			cap = len + 1;
		nc = xmalloc(sizeof(*nc) + cap);
		nc->used = 0;
		nc->cap = cap;
		if (c != NULL && cap - len - 1 < c->cap - c->used) {
			nc->next = c->next;     /* a long string: keep filling c */
			c->next = nc;
		} else {
			nc->next = c;
			m->chunks = nc;
		}
		c = nc;
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

/* Returns the arena's copy of s, stored once however often it is asked
 * for (every task of a DAG often runs the same program in the same pool). */
static char *
mem_intern(struct dag_mem *m, const char *s)
{
	size_t i;

	if (2 * (m->set_n + 1) > m->set_cap) {
		size_t cap = m->set_cap ? 2 * m->set_cap : 64;
		char **set = xcalloc(cap, sizeof(*set));

		for (size_t j = 0; j < m->set_cap; j++) {
			if (m->set[j] == NULL)
				continue;
			for (i = str_hash(m->set[j]) & (cap - 1); set[i] != NULL; i = (i + 1) & (cap - 1))
				;
			set[i] = m->set[j];
		}
		free(m->set);
		m->set = set;
		m->set_cap = cap;
	}
	for (i = str_hash(s) & (m->set_cap - 1); m->set[i] != NULL; i = (i + 1) & (m->set_cap - 1))
		if (strcmp(m->set[i], s) == 0)
			return m->set[i];
	m->set[i] = mem_strndup(m, s, strlen(s));
	m->set_n++;
	return m->set[i];
}

static void
mem_free(struct dag_mem *m)
{
	if (m == NULL)
		return;
	while (m->chunks != NULL) {
		struct chunk *next = m->chunks->next;

		free(m->chunks);
		m->chunks = next;
	}
	free(m->set);
	free(m->argv);
	free(m->edges);
	free(m->by_id);
	free(m);
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

/* Whether s is one of list (NULL-terminated). */
static int
str_in(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* n for "expected ..., got %s": a collection's kind, or a scalar's text. */
static const char *
got(const struct loader *l, const struct ynode *n)
{
	if (n->type != YAML_SCALAR_NODE)
		return type_name(n);
	return is_null(l, n) ? "null" : scalar(l, n);
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
	    parse_int64(yaml_int_text(s), out) != 0) {
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

/* Iterates a mapping's pairs, reporting non-string and duplicate keys and
 * YAML's merge key (libyaml leaves "<<" to the application).
 * Zero-initialise but for l and map, and call until it returns 0 (that
 * frees seen). */
struct pairs {
	struct loader *l;
	const struct ynode *map;
	size_t next;                    /* pair index */
	const struct ynode *key, *value;
	uint32_t *seen;                 /* large mappings: hash of the keys so far */
	size_t seen_cap;
};

/* Whether an earlier pair has the key of pair p, by comparing them all, or
 * for a large mapping (a DAG's tasks) through a hash of the keys seen. */
static int
pairs_dup(struct pairs *it, size_t p, const char *k)
{
	struct loader *l = it->l;
	size_t i, mask;

	if (it->map->n <= 16) {
		for (size_t q = 0; q < p; q++) {
			const char *kq = scalar(l, kid(l, it->map, 2 * q));

			if (kq != NULL && strcmp(kq, k) == 0)
				return 1;
		}
		return 0;
	}
	if (it->seen == NULL) {
		for (it->seen_cap = 64; it->seen_cap < (size_t)it->map->n * 3 / 2; it->seen_cap *= 2)
			;
		it->seen = xcalloc(it->seen_cap, sizeof(*it->seen));
	}
	mask = it->seen_cap - 1;
	for (i = str_hash(k) & mask; it->seen[i] != 0; i = (i + 1) & mask)
		if (strcmp(scalar(l, kid(l, it->map, 2 * (it->seen[i] - 1))), k) == 0)
			return 1;
	it->seen[i] = (uint32_t)p + 1;
	return 0;
}

static int
pairs_next(struct pairs *it)
{
	struct loader *l = it->l;

	while (it->next < it->map->n) {
		size_t p = it->next++;
		const char *k;

		it->key = kid(l, it->map, 2 * p);
		it->value = kid(l, it->map, 2 * p + 1);
		if ((k = scalar(l, it->key)) == NULL) {
			ERR(l, it->key, "keys must be strings, got %s", type_name(it->key));
			continue;
		}
		if (it->key->style == YAML_PLAIN_SCALAR_STYLE && strcmp(k, "<<") == 0) {
			ERR(l, it->key, "merge keys are not supported: write the keys out");
			continue;
		}
		if (pairs_dup(it, p, k)) {
			ERR(l, it->key, "duplicate key '%s'", k);
			continue;
		}
		return 1;
	}
	free(it->seen);
	it->seen = NULL;
	return 0;
}

/* Converts a YAML node into JSON (scalar_as); mapping keys are checked as
 * everywhere (pairs_next). */
static cJSON *
node_json(struct loader *l, const struct ynode *n)
{
	struct pairs it = { .l = l, .map = n };
	int64_t v;
	cJSON *o;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		switch (scalar_as(l, n, &v)) {
		case AS_NULL:
			return cJSON_CreateNull();
		case AS_BOOL:
			return cJSON_CreateBool(scalar(l, n)[0] == 't');
		case AS_INT:
			return cJSON_CreateNumber((double)v);
		default:
			return cJSON_CreateString(scalar(l, n));
		}
	case YAML_SEQUENCE_NODE:
		o = cJSON_CreateArray();
		for (size_t i = 0; i < n->n; i++)
			cJSON_AddItemToArray(o, node_json(l, kid(l, n, i)));
		return o;
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		while (pairs_next(&it))
			cJSON_AddItemToObject(o, scalar(l, it.key), node_json(l, it.value));
		return o;
	default:
		return cJSON_CreateNull();
	}
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
	"execution_timeout", "executor", "image", "env", "resources", "kubernetes", "pool",
	"pool_slots", "priority_weight", NULL,
};

/* The executor of tasks that name none: $STA_DEFAULT_EXECUTOR (so one
 * deployment runs the shipped DAGs as pods), else local. */
static const char *
default_executor(void)
{
	const char *s = getenv("STA_DEFAULT_EXECUTOR");

	if (s == NULL || *s == '\0')
		return "local";
	if (strcmp(s, "local") == 0 || strcmp(s, "kubernetes") == 0)
		return s;
	log_error("STA_DEFAULT_EXECUTOR=%s: expected local or kubernetes; using local", s);
	return "local";
}

static void
args_defaults(struct dag_mem *m, struct task_args *a)
{
	memset(a, 0, sizeof(*a));
	a->retry_delay = 300;
	a->executor = mem_intern(m, default_executor());
	a->pool = mem_intern(m, "default_pool");
	a->pool_slots = 1;
	a->priority_weight = 1;
}

/* Frees what a holds apart from shared (the DAG's defaults, NULL for the
 * defaults themselves); the strings are the DAG's arena's. */
static void
args_free(struct task_args *a, const struct task_args *shared)
{
	if (shared == NULL || a->env != shared->env)
		free(a->env);
	if (shared == NULL || a->resources != shared->resources)
		cJSON_Delete(a->resources);
	if (shared == NULL || a->kubernetes != shared->kubernetes)
		cJSON_Delete(a->kubernetes);
}

/* Sets env key k (its node: at); a task's first key copies the DAG's
 * list.  Only the first inherited entries can hold k already (a mapping's
 * own keys are distinct).  -1 past ENV_TOTAL_MAX (said once, at the first
 * key past it). */
static int
env_set(struct loader *l, struct task_args *a, const struct task_args *shared,
    size_t inherited, const struct ynode *at, const char *k, const char *v)
{
	if (l->env_full)
		return -1;
	/* the copy, if this is the task's first key, and the key */
	if (l->n_env + 1 + (shared != NULL && a->env == shared->env ? a->n_env : 0) >
	    ENV_TOTAL_MAX) {
		ERR(l, at, "env: the tasks' environments hold more than %d variables in all "
		    "(each task that sets env copies default_args.env)", ENV_TOTAL_MAX);
		l->env_full = 1;
		return -1;
	}
	if (shared != NULL && a->env == shared->env) {
		struct kv *own = xcalloc(a->n_env + 1, sizeof(*own));

		if (a->n_env > 0)
			memcpy(own, a->env, a->n_env * sizeof(*own));
		a->env = own;
		l->n_env += a->n_env;
	}
	for (size_t i = 0; i < inherited; i++) {
		if (strcmp(a->env[i].key, k) == 0) {
			a->env[i].value = mem_intern(l->mem, v);
			return 0;
		}
	}
	a->env = xreallocarray(a->env, a->n_env + 1, sizeof(*a->env));
	a->env[a->n_env].key = mem_intern(l->mem, k);
	a->env[a->n_env].value = mem_intern(l->mem, v);
	a->n_env++;
	l->n_env++;
	return 0;
}

static const char *const kube_keys[] = {
	"service_account", "node_selector", "tolerations", "env_from_secrets", "secret_env", NULL,
};

/* A Kubernetes name (DNS-1123 subdomain, as Secrets and service accounts
 * have): lower-case alphanumerics, '-' and '.', at most 253. */
static int
kube_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		    s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static const char *
get_kube_name(struct loader *l, const struct ynode *n, const char *field)
{
	const char *s = get_string(l, n, field);

	if (s != NULL && !kube_name_ok(s)) {
		ERR(l, n, "%s: '%s' is not a Kubernetes name (lower-case letters, digits, '-' "
		    "and '.')", field, s);
		return NULL;
	}
	return s;
}

static const char *const toleration_keys[] = {
	"key", "operator", "value", "effect", "tolerationSeconds", NULL,
};
static const char *const toleration_ops[] = { "Exists", "Equal", NULL };
static const char *const taint_effects[] = {
	"NoSchedule", "PreferNoSchedule", "NoExecute", "", NULL,
};

/* One of kubernetes.tolerations, which go into the pod as given: a
 * Toleration of the Kubernetes API, checked as the API checks it (a pod it
 * refuses would fail every try).  Its strings must be strings in JSON too. */
static void
check_toleration(struct loader *l, const struct ynode *n, const char *field)
{
	struct pairs it = { .l = l, .map = n };
	const char *key = "", *op = "Equal", *value = "", *effect = "";
	const struct ynode *secs = NULL;
	int before = l->n_errors;
	int64_t v;
	char f[64];

	if (expect_mapping(l, n, field) != 0)
		return;
	while (pairs_next(&it)) {
		const char *k = scalar(l, it.key);      /* pairs_next: a string */
		const char *s = scalar_as(l, it.value, &v) == AS_STRING ? scalar(l, it.value) : NULL;

		if (k == NULL)
			continue;
		snprintf(f, sizeof(f), "%s.%s", field, k);
		if (!str_in(k, toleration_keys)) {
			err_unknown_key(l, it.key, toleration_keys, 99, "a toleration");
		} else if (strcmp(k, "tolerationSeconds") == 0) {
			secs = it.value;
			get_int(l, it.value, f, -JSON_INT_LIMIT + 1, JSON_INT_LIMIT - 1, &v);
		} else if (s == NULL) {
			ERR(l, it.value, "%s: expected a string, got %s", f, got(l, it.value));
		} else if (strcmp(k, "key") == 0) {
			key = s;
		} else if (strcmp(k, "value") == 0) {
			value = s;
		} else if (strcmp(k, "operator") == 0) {
			op = s;
			if (!str_in(s, toleration_ops))
				ERR(l, it.value, "%s: expected Exists or Equal, got '%s'", f, s);
		} else {
			effect = s;
			if (!str_in(s, taint_effects))
				ERR(l, it.value, "%s: expected NoSchedule, PreferNoSchedule, NoExecute "
				    "or \"\" (every effect), got '%s'", f, s);
		}
	}
	if (l->n_errors != before)
		return;
	if (*key == '\0' && strcmp(op, "Exists") != 0)
		ERR(l, n, "%s: without a key, operator must be Exists (matching every taint)", field);
	if (strcmp(op, "Exists") == 0 && *value != '\0')
		ERR(l, n, "%s: with operator Exists, value must be empty", field);
	if (secs != NULL && strcmp(effect, "NoExecute") != 0)
		ERR(l, secs, "%s.tolerationSeconds: only with effect NoExecute", field);
}

/* Checks `resources`: requests and limits, each a mapping of resources
 * to quantities (strings or numbers, which Kubernetes parses); 0 when
 * valid. */
static int
check_resources(struct loader *l, const struct ynode *v)
{
	static const char *const keys[] = { "requests", "limits", NULL };
	struct pairs it = { .l = l, .map = v };
	int before = l->n_errors;

	if (expect_mapping(l, v, "resources") != 0)
		return -1;
	while (pairs_next(&it)) {
		const char *k = scalar(l, it.key);
		struct pairs q = { .l = l, .map = it.value };
		char field[64];

		if (!str_in(k, keys)) {
			err_unknown_key(l, it.key, keys, 99, "resources");
			continue;
		}
		snprintf(field, sizeof(field), "resources.%s", k);
		if (expect_mapping(l, it.value, field) != 0)
			continue;
		while (pairs_next(&q)) {
			int64_t i;
			enum scalar_as as = scalar_as(l, q.value, &i);

			if (as != AS_STRING && as != AS_INT)
				ERR(l, q.value, "%s.%s: expected a quantity (a string or a number), "
				    "got %s", field, scalar(l, q.key), got(l, q.value));
		}
	}
	return l->n_errors == before ? 0 : -1;
}

/* Checks a `kubernetes` block (the pod executor's extras); 0 when valid. */
static int
check_kubernetes(struct loader *l, const struct ynode *v)
{
	struct pairs it = { .l = l, .map = v };
	int before = l->n_errors;

	if (expect_mapping(l, v, "kubernetes") != 0)
		return -1;
	while (pairs_next(&it)) {
		const char *k = scalar(l, it.key);      /* pairs_next: a string */
		const struct ynode *x = it.value;
		char field[64];

		if (k == NULL)
			continue;
		snprintf(field, sizeof(field), "kubernetes.%s", k);
		if (strcmp(k, "service_account") == 0) {
			get_kube_name(l, x, field);
		} else if (strcmp(k, "node_selector") == 0 || strcmp(k, "secret_env") == 0) {
			struct pairs kv = { .l = l, .map = x };

			if (expect_mapping(l, x, field) != 0)
				continue;
			while (pairs_next(&kv)) {
				const char *val = get_string(l, kv.value, field);
				const char *slash = val != NULL ? strchr(val, '/') : NULL;
				char *secret;

				if (val == NULL || strcmp(k, "secret_env") != 0)
					continue;
				if (slash == NULL || slash[1] == '\0') {
					ERR(l, kv.value, "%s.%s: expected SECRET/KEY, got '%s'", field,
					    scalar(l, kv.key), val);
					continue;
				}
				secret = xstrndup(val, (size_t)(slash - val));
				if (!kube_name_ok(secret))
					ERR(l, kv.value, "%s.%s: '%s' is not a Secret name", field,
					    scalar(l, kv.key), secret);
				free(secret);
			}
		} else if (strcmp(k, "env_from_secrets") == 0 || strcmp(k, "tolerations") == 0) {
			int tolerations = strcmp(k, "tolerations") == 0;

			if (x->type != YAML_SEQUENCE_NODE) {
				ERR(l, x, "%s: expected a list, got %s", field, type_name(x));
				continue;
			}
			for (size_t i = 0; i < x->n; i++) {
				if (tolerations)
					check_toleration(l, kid(l, x, i), "kubernetes.tolerations");
				else
					get_kube_name(l, kid(l, x, i), field);
			}
		} else {
			err_unknown_key(l, it.key, kube_keys, 99, "kubernetes");
		}
	}
	return l->n_errors == before ? 0 : -1;
}

/* Applies one default_args key to a, which starts as shared (NULL: a is
 * the defaults); returns 0 if key is not an args key. */
static int
arg_apply(struct loader *l, struct task_args *a, const struct task_args *shared,
    const char *key, const struct ynode *v)
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
			a->executor = mem_intern(l->mem, s);
		}
	} else if (strcmp(key, "image") == 0) {
		if ((s = get_string(l, v, key)) != NULL) {
			a->image = mem_intern(l->mem, s);
		}
	} else if (strcmp(key, "pool") == 0) {
		if ((s = get_string(l, v, key)) != NULL) {
			a->pool = mem_intern(l->mem, s);
		}
	} else if (strcmp(key, "pool_slots") == 0) {
		if (get_int(l, v, key, 1, 100000, &i) == 0)
			a->pool_slots = (int)i;
	} else if (strcmp(key, "priority_weight") == 0) {
		if (get_int(l, v, key, -1000000, 1000000, &i) == 0)
			a->priority_weight = (int)i;
	} else if (strcmp(key, "resources") == 0) {
		if (check_resources(l, v) == 0) {
			if (shared == NULL || a->resources != shared->resources)
				cJSON_Delete(a->resources);
			a->resources = node_json(l, v);
		}
	} else if (strcmp(key, "kubernetes") == 0) {
		if (check_kubernetes(l, v) == 0) {
			if (shared == NULL || a->kubernetes != shared->kubernetes)
				cJSON_Delete(a->kubernetes);
			a->kubernetes = node_json(l, v);
		}
	} else if (strcmp(key, "env") == 0) {
		struct pairs it = { .l = l, .map = v };
		size_t inherited = a->n_env;

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
			env_set(l, a, shared, inherited, it.key, scalar(l, it.key), val);
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
		if (!arg_apply(l, a, NULL, scalar(l, it.key), it.value))
			err_unknown_key(l, it.key, arg_keys, 99, "default_args");
}

static const char *const task_keys[] = {
	"command", "depends_on", "trigger_rule", "retries", "retry_delay",
	"retry_exponential_backoff", "max_retry_delay", "execution_timeout",
	"executor", "image", "env", "resources", "kubernetes", "pool", "pool_slots",
	"priority_weight", NULL,
};

/* What parse_task leaves for parse_tasks, per task. */
struct task_tmp {
	uint32_t argv_at;       /* its command in mem->argv */
	uint32_t deps_at;       /* its depends_on scalars in deps */
	uint32_t n_deps;
};

/* The depends_on scalars of all tasks (node indices), resolved later. */
struct deps {
	uint32_t *v;
	size_t n, cap;
};

static void
deps_add(struct deps *d, uint32_t node)
{
	d->v = grow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = node;
}

static void
argv_add(struct dag_mem *m, char *s)
{
	m->argv = grow(m->argv, &m->cap_argv, m->n_argv + 1, sizeof(*m->argv));
	m->argv[m->n_argv++] = s;
}

/* Parses one task; its command goes to the DAG's argv array (with
 * tmp->argv_at, t->command.v is set once that stops moving), its
 * depends_on scalars to deps. */
static void
parse_task(struct loader *l, struct dag *dag, struct dag_task *t, const struct ynode *key,
    const struct ynode *n, struct task_tmp *tmp, struct deps *deps)
{
	struct pairs it = { .l = l, .map = n };
	int have_command = 0;

	t->task_id = mem_strndup(l->mem, scalar(l, key), strlen(scalar(l, key)));
	t->line = (int)key->line + 1;
	t->col = (int)key->col + 1;
	t->args = dag->defaults;
	tmp->argv_at = (uint32_t)l->mem->n_argv;
	tmp->deps_at = (uint32_t)deps->n;
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
				argv_add(l->mem, mem_intern(l->mem, scalar(l, e)));
				t->command.n++;
			}
			if (t->command.n == 0)
				ERR(l, it.value, "command: the list is empty");
		} else if (strcmp(k, "depends_on") == 0) {
			if (scalar(l, it.value) != NULL && !is_null(l, it.value)) {
				deps_add(deps, node_index(l, it.value));
			} else if (it.value->type == YAML_SEQUENCE_NODE) {
				for (size_t i = 0; i < it.value->n; i++) {
					const struct ynode *e = kid(l, it.value, i);

					if (scalar(l, e) == NULL) {
						ERR(l, e, "depends_on: expected task ids");
						continue;
					}
					deps_add(deps, node_index(l, e));
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
		} else if (!arg_apply(l, &t->args, &dag->defaults, k, it.value)) {
			err_unknown_key(l, it.key, task_keys, 99, "a task");
		}
	}
	if (t->command.n > 0)
		argv_add(l->mem, NULL);
	tmp->n_deps = (uint32_t)(deps->n - tmp->deps_at);
	if (!have_command)
		ERR(l, key, "task '%s' has no command", t->task_id);
}

/* Depth-first search for a cycle; reports the first found, by name. */
static int
find_cycle(struct loader *l, struct dag *dag, uint32_t i, uint8_t *color, uint32_t *stack,
    size_t depth)
{
	color[i] = 1;
	stack[depth] = i;
	for (size_t u = 0; u < dag->tasks[i].n_upstream; u++) {
		uint32_t j = dag->tasks[i].upstream[u];

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

/* Resolves depends_on into upstream lists (in the order written, each task
 * once) and downstream lists (in file order), all in mem->edges. */
static void
link_tasks(struct loader *l, struct dag *dag, const struct task_tmp *tmp,
    const struct deps *deps)
{
	size_t n = dag->n_tasks, n_up = 0, at;
	uint32_t *up = xcalloc(deps->n ? deps->n : 1, sizeof(*up));

	for (size_t i = 0; i < n; i++) {
		struct dag_task *t = &dag->tasks[i];
		size_t first = n_up;

		for (size_t d = 0; d < tmp[i].n_deps; d++) {
			const struct ynode *e = &l->doc.nodes[deps->v[tmp[i].deps_at + d]];
			ssize_t j = dag_task_index(dag, scalar(l, e));
			int dup = 0;

			if (j < 0) {
				err_at(l, e->line, e->col, "task '%s' depends on '%s', which is not a task "
				    "of this DAG", t->task_id, scalar(l, e));
				continue;
			}
			for (size_t u = first; u < n_up; u++)
				dup |= up[u] == (uint32_t)j;
			if (!dup)
				up[n_up++] = (uint32_t)j;
		}
		t->n_upstream = (uint32_t)(n_up - first);
	}
	l->mem->edges = xcalloc(n_up ? 2 * n_up : 1, sizeof(*l->mem->edges));
	memcpy(l->mem->edges, up, n_up * sizeof(*up));
	free(up);
	at = 0;
	for (size_t i = 0; i < n; i++) {
		struct dag_task *t = &dag->tasks[i];

		t->upstream = l->mem->edges + at;
		at += t->n_upstream;
		for (size_t u = 0; u < t->n_upstream; u++)
			dag->tasks[t->upstream[u]].n_downstream++;
	}
	for (size_t i = 0; i < n; i++) {
		dag->tasks[i].downstream = l->mem->edges + at;
		at += dag->tasks[i].n_downstream;
		dag->tasks[i].n_downstream = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dag_task *t = &dag->tasks[i];

		for (size_t u = 0; u < t->n_upstream; u++) {
			struct dag_task *up_task = &dag->tasks[t->upstream[u]];

			up_task->downstream[up_task->n_downstream++] = (uint32_t)i;
		}
	}
}

/* Links the tasks, rejects a cycle, and orders the tasks. */
static void
build_graph(struct loader *l, struct dag *dag, const struct task_tmp *tmp,
    const struct deps *deps)
{
	size_t n = dag->n_tasks, qh = 0, qt = 0;
	uint32_t *indeg, *queue;
	uint8_t *color;

	link_tasks(l, dag, tmp, deps);
	color = xcalloc(n ? n : 1, sizeof(*color));
	queue = xcalloc(n ? n : 1, sizeof(*queue));
	for (size_t i = 0; i < n; i++)
		if (color[i] == 0 && find_cycle(l, dag, (uint32_t)i, color, queue, 0))
			break;
	/* Kahn's algorithm, stable by file order. */
	indeg = xcalloc(n ? n : 1, sizeof(*indeg));
	dag->topo = xcalloc(n ? n : 1, sizeof(*dag->topo));
	for (size_t i = 0; i < n; i++) {
		indeg[i] = dag->tasks[i].n_upstream;
		if (indeg[i] == 0)
			queue[qt++] = (uint32_t)i;
	}
	while (qh < qt) {
		uint32_t i = queue[qh++];

		dag->topo[qh - 1] = i;
		for (size_t d = 0; d < dag->tasks[i].n_downstream; d++)
			if (--indeg[dag->tasks[i].downstream[d]] == 0)
				queue[qt++] = dag->tasks[i].downstream[d];
	}
	free(indeg);
	free(queue);
	free(color);
}

/* Task i's id before task j's, ties (none in a loaded DAG) by index. */
static int
id_before(const struct dag *dag, uint32_t i, uint32_t j)
{
	int c = strcmp(dag->tasks[i].task_id, dag->tasks[j].task_id);

	return c != 0 ? c < 0 : i < j;
}

/* Sorts the task indices by task_id for dag_task_index: a heapsort, in
 * place (qsort would want a context, and glibc's copies the array). */
static void
index_tasks(struct dag *dag)
{
	size_t n = dag->n_tasks;
	uint32_t *v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (uint32_t)i;
	for (size_t end = n, k = n / 2; end > 1;) {
		size_t root, child;
		uint32_t t;

		if (k > 0) {                    /* build the heap */
			root = --k;
		} else {                        /* move the largest to the end */
			t = v[--end];
			v[end] = v[0];
			v[0] = t;
			root = 0;
		}
		while ((child = 2 * root + 1) < end) {
			if (child + 1 < end && id_before(dag, v[child], v[child + 1]))
				child++;
			if (!id_before(dag, v[root], v[child]))
				break;
			t = v[root];
			v[root] = v[child];
			v[child] = t;
			root = child;
		}
	}
	dag->mem->by_id = v;
}

static const char *const dag_keys[] = {
	"dag_id", "description", "schedule", "start_date", "end_date", "catchup",
	"max_active_runs", "max_active_tasks", "tags", "params", "default_args",
	"tasks", NULL,
};

static void
parse_tasks(struct loader *l, struct dag *dag, const struct ynode *n)
{
	struct dag_mem *m = l->mem;
	struct deps deps = {0};
	struct task_tmp *tmp;
	size_t k = 0;

	if (expect_mapping(l, n, "tasks") != 0)
		return;
	if (n->n == 0) {
		ERR(l, n, "tasks: a DAG needs at least one task");
		return;
	}
	dag->tasks = xcalloc(n->n, sizeof(*dag->tasks));
	tmp = xcalloc(n->n, sizeof(*tmp));
	struct pairs it = { .l = l, .map = n };
	while (pairs_next(&it)) {
		parse_task(l, dag, &dag->tasks[k], it.key, it.value, &tmp[k], &deps);
		k++;
	}
	dag->n_tasks = k;
	/* The argv array is complete: point the commands into it. */
	if (m->n_argv > 0)
		m->argv = xreallocarray(m->argv, m->n_argv, sizeof(*m->argv));
	m->cap_argv = m->n_argv;
	for (size_t i = 0; i < k; i++)
		if (dag->tasks[i].command.n > 0)
			dag->tasks[i].command.v = m->argv + tmp[i].argv_at;
	index_tasks(dag);
	build_graph(l, dag, tmp, &deps);
	free(deps.v);
	free(tmp);
}

static void
parse_dag(struct loader *l, struct dag *dag, const struct ynode *root)
{
	const struct ynode *tasks = NULL, *sched_node = NULL;
	int have_start = 0;
	struct pairs it = { .l = l, .map = root };

	/* default_args first: tasks inherit it wherever it is in the file.
	 * (A plain scan: duplicate keys are reported by the pass below.) */
	for (size_t p = 0; p < root->n; p++) {
		const char *k = scalar(l, kid(l, root, 2 * p));

		if (k != NULL && strcmp(k, "default_args") == 0) {
			parse_default_args(l, kid(l, root, 2 * p + 1), &dag->defaults);
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
				free(dag->dag_id);
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
		err_at(l, root->line, root->col, "end_date is before start_date");
	if (tasks == NULL)
		err_at(l, root->line, root->col, "missing required key 'tasks'");
	else
		parse_tasks(l, dag, tasks);
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
	struct dag *dag = NULL;
	char *data = NULL;
	size_t len = 0;

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
	if (ydoc_load(&l, data, len) != 0) {
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
	dag->mem = l.mem = xcalloc(1, sizeof(*dag->mem));
	sha256_hex(data, len, dag->file_hash);
	free(data);
	if (l.doc.root == NULL) {
		err_at(&l, 0, 0, "the file is empty: a DAG needs dag_id and tasks");
	} else if (l.doc.root->type != YAML_MAPPING_NODE) {
		ERR(&l, l.doc.root, "a DAG file must be a mapping (dag_id: ..., tasks: ...)");
	} else {
		args_defaults(dag->mem, &dag->defaults);
		parse_dag(&l, dag, l.doc.root);
	}
	ydoc_free(&l.doc);
	/* Loaded: nothing more is interned. */
	free(dag->mem->set);
	dag->mem->set = NULL;
	dag->mem->set_n = dag->mem->set_cap = 0;
	if (l.n_errors > ERRORS_SHOWN)
		strv_push_take(&errs->msgs, xasprintf("%s: %d more errors not shown", path,
		    l.n_errors - ERRORS_SHOWN));
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
	for (size_t i = 0; i < dag->n_tasks; i++)
		args_free(&dag->tasks[i].args, &dag->defaults);
	args_free(&dag->defaults, NULL);
	free(dag->tasks);
	free(dag->topo);
	mem_free(dag->mem);
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
	const uint32_t *by_id = dag->mem != NULL ? dag->mem->by_id : NULL;
	size_t lo = 0, hi = dag->n_tasks;

	if (by_id == NULL) {
		for (size_t i = 0; i < dag->n_tasks; i++)
			if (dag->tasks[i].task_id != NULL && strcmp(dag->tasks[i].task_id, task_id) == 0)
				return (ssize_t)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(dag->tasks[by_id[mid]].task_id, task_id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < dag->n_tasks && strcmp(dag->tasks[by_id[lo]].task_id, task_id) == 0)
		return (ssize_t)by_id[lo];
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
