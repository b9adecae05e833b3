/*
 * dag.c: loads DAG files (docs/dags.md) with libyaml's document API and
 * validates them, collecting every problem as "file:line:col: message"
 * from libyaml's marks; builds the task graph (upstream, downstream,
 * topological order) and rejects cycles, naming them.
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

struct loader {
	const char *path;
	yaml_document_t doc;
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

#define ERR(l, node, ...) \
	err_at((l), (node)->start_mark.line, (node)->start_mark.column, __VA_ARGS__)

static const char *
scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int
is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == '\0');
}

static const char *
type_name(const yaml_node_t *n)
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
err_unknown_key(struct loader *l, const yaml_node_t *k, const char *const *known, size_t n,
    const char *where)
{
	const char *key = scalar(k), *best = NULL;
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
get_string(struct loader *l, const yaml_node_t *n, const char *field)
{
	const char *s = scalar(n);

	if (s == NULL || is_null(n)) {
		ERR(l, n, "%s: expected a string, got %s", field, s ? "null" : type_name(n));
		return NULL;
	}
	return s;
}

static int
get_int(struct loader *l, const yaml_node_t *n, const char *field, int64_t lo,
    int64_t hi, int64_t *out)
{
	const char *s = scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
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
get_bool(struct loader *l, const yaml_node_t *n, const char *field, int *out)
{
	const char *s = scalar(n);

	if (s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
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
get_duration(struct loader *l, const yaml_node_t *n, const char *field, int64_t *out)
{
	const char *s = scalar(n);
	char err[256];

	if (s == NULL || is_null(n)) {
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
get_date(struct loader *l, const yaml_node_t *n, const char *field, sta_time *out)
{
	const char *s = scalar(n);

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
check_template(struct loader *l, const yaml_node_t *n, const char *field)
{
	const char *s = scalar(n);
	size_t off, col;
	char err[512];

	if (s == NULL || template_check(s, &off, err, sizeof(err)) == 0)
		return;
	col = n->start_mark.column;
	if (n->start_mark.line == n->end_mark.line) {
		int quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		    n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

		col += off + (size_t)quoted;
	}
	err_at(l, n->start_mark.line, col, "%s: %s", field, err);
}

/* Converts a YAML node into JSON: plain scalars that look like integers,
 * booleans or null become those; everything else is a string. */
static cJSON *
node_json(struct loader *l, const yaml_node_t *n)
{
	cJSON *o;

	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = scalar(n);
		int64_t v;

		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (is_null(n))
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
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			cJSON_AddItemToArray(o, node_json(l, yaml_document_get_node(&l->doc, *it)));
		return o;
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(yaml_document_get_node(&l->doc, p->key));

			cJSON_AddItemToObject(o, k ? k : "?",
			    node_json(l, yaml_document_get_node(&l->doc, p->value)));
		}
		return o;
	default:
		return cJSON_CreateNull();
	}
}

/* Iterates a mapping's pairs, reporting non-string and duplicate keys. */
struct pairs {
	struct loader *l;
	const yaml_node_t *map;
	yaml_node_pair_t *p;
	yaml_node_t *key, *value;
};

static int
pairs_next(struct pairs *it)
{
	struct loader *l = it->l;

	for (;;) {
		it->p = it->p == NULL ? it->map->data.mapping.pairs.start : it->p + 1;
		if (it->p >= it->map->data.mapping.pairs.top)
			return 0;
		it->key = yaml_document_get_node(&l->doc, it->p->key);
		it->value = yaml_document_get_node(&l->doc, it->p->value);
		if (scalar(it->key) == NULL) {
			ERR(l, it->key, "keys must be strings, got %s", type_name(it->key));
			continue;
		}
		int dup = 0;
		for (yaml_node_pair_t *q = it->map->data.mapping.pairs.start; q < it->p; q++) {
			const char *k = scalar(yaml_document_get_node(&l->doc, q->key));

			if (k != NULL && strcmp(k, scalar(it->key)) == 0)
				dup = 1;
		}
		if (dup) {
			ERR(l, it->key, "duplicate key '%s'", scalar(it->key));
			continue;
		}
		return 1;
	}
}

static int
expect_mapping(struct loader *l, const yaml_node_t *n, const char *field)
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
arg_apply(struct loader *l, struct task_args *a, const char *key, const yaml_node_t *v)
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
			const char *val = scalar(it.value);

			if (val == NULL) {
				ERR(l, it.value, "env.%s: expected a string, got %s",
				    scalar(it.key), type_name(it.value));
				continue;
			}
			check_template(l, it.value, "env");
			env_set(a, scalar(it.key), val);
		}
	} else {
		return 0;
	}
	return 1;
}

static void
parse_default_args(struct loader *l, const yaml_node_t *n, struct task_args *a)
{
	struct pairs it = { .l = l, .map = n };

	if (expect_mapping(l, n, "default_args") != 0)
		return;
	while (pairs_next(&it))
		if (!arg_apply(l, a, scalar(it.key), it.value))
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
parse_task(struct loader *l, struct dag_task *t, const yaml_node_t *key,
    const yaml_node_t *n, const struct task_args *defaults, struct strv *deps,
    struct strv *dep_pos)
{
	struct pairs it = { .l = l, .map = n };
	int have_command = 0;

	t->task_id = xstrdup(scalar(key));
	t->line = (int)key->start_mark.line + 1;
	t->col = (int)key->start_mark.column + 1;
	args_copy(&t->args, defaults);
	if (!id_ok(t->task_id))
		ERR(l, key, "task id '%s': use 1-%d of A-Z a-z 0-9 _ . -", t->task_id, ID_MAX);
	if (expect_mapping(l, n, t->task_id) != 0)
		return;
	while (pairs_next(&it)) {
		const char *k = scalar(it.key);

		if (strcmp(k, "command") == 0) {
			have_command = 1;
			if (it.value->type != YAML_SEQUENCE_NODE) {
				ERR(l, it.value, "command must be a list (argv); write [sh, -c, '...'] "
				    "for a shell");
				continue;
			}
			for (yaml_node_item_t *i = it.value->data.sequence.items.start;
			    i < it.value->data.sequence.items.top; i++) {
				yaml_node_t *e = yaml_document_get_node(&l->doc, *i);

				if (scalar(e) == NULL) {
					ERR(l, e, "command: each element must be a string, got %s",
					    type_name(e));
					continue;
				}
				check_template(l, e, "command");
				strv_push(&t->command, scalar(e));
			}
			if (t->command.n == 0)
				ERR(l, it.value, "command: the list is empty");
		} else if (strcmp(k, "depends_on") == 0) {
			if (scalar(it.value) != NULL && !is_null(it.value)) {
				strv_push(deps, scalar(it.value));
				strv_push_take(dep_pos, xasprintf("%zu:%zu", it.value->start_mark.line,
				    it.value->start_mark.column));
			} else if (it.value->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *i = it.value->data.sequence.items.start;
				    i < it.value->data.sequence.items.top; i++) {
					yaml_node_t *e = yaml_document_get_node(&l->doc, *i);

					if (scalar(e) == NULL) {
						ERR(l, e, "depends_on: expected task ids");
						continue;
					}
					strv_push(deps, scalar(e));
					strv_push_take(dep_pos, xasprintf("%zu:%zu", e->start_mark.line,
					    e->start_mark.column));
				}
			} else if (!is_null(it.value)) {
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
parse_tasks(struct loader *l, struct dag *dag, const yaml_node_t *n,
    const struct task_args *defaults)
{
	size_t count = 0, k = 0;
	struct strv *deps, *pos;

	if (expect_mapping(l, n, "tasks") != 0)
		return;
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
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
parse_dag(struct loader *l, struct dag *dag, const yaml_node_t *root)
{
	struct task_args defaults;
	const yaml_node_t *tasks = NULL, *sched_node = NULL;
	int have_start = 0;
	struct pairs it = { .l = l, .map = root };

	args_defaults(&defaults);
	/* default_args first: tasks inherit it wherever it is in the file.
	 * (A plain scan: duplicate keys are reported by the pass below.) */
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(&l->doc, p->key));

		if (k != NULL && strcmp(k, "default_args") == 0) {
			parse_default_args(l, yaml_document_get_node(&l->doc, p->value), &defaults);
			break;
		}
	}
	while (pairs_next(&it)) {
		const char *k = scalar(it.key);
		const yaml_node_t *v = it.value;
		const char *s;
		int64_t i;

		if (strcmp(k, "dag_id") == 0) {
			if ((s = get_string(l, v, k)) != NULL) {
				if (!id_ok(s))
					ERR(l, v, "dag_id '%s': use 1-%d of A-Z a-z 0-9 _ . -", s, ID_MAX);
				dag->dag_id = xstrdup(s);
			}
		} else if (strcmp(k, "description") == 0) {
			if (!is_null(v) && (s = get_string(l, v, k)) != NULL)
				dag->description = xstrdup(s);
		} else if (strcmp(k, "schedule") == 0) {
			char err[512];

			sched_node = v;
			if (is_null(v))
				continue;
			if ((s = get_string(l, v, k)) == NULL)
				continue;
			dag->schedule = schedule_parse(s, err, sizeof(err));
			if (dag->schedule == NULL)
				ERR(l, v, "schedule: %s", err);
		} else if (strcmp(k, "start_date") == 0) {
			have_start = get_date(l, v, k, &dag->start_date) == 0;
		} else if (strcmp(k, "end_date") == 0) {
			if (!is_null(v))
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
			for (yaml_node_item_t *t = v->data.sequence.items.start;
			    t < v->data.sequence.items.top; t++) {
				const yaml_node_t *e = yaml_document_get_node(&l->doc, *t);

				if ((s = get_string(l, e, "tags")) != NULL)
					strv_push(&dag->tags, s);
			}
		} else if (strcmp(k, "params") == 0) {
			if (!is_null(v) && expect_mapping(l, v, k) == 0) {
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
		err_at(l, root->start_mark.line, root->start_mark.column, "missing required key 'dag_id'");
	if (dag->schedule != NULL && !have_start)
		ERR(l, sched_node, "a scheduled DAG needs a start_date");
	if (dag->has_end_date && have_start && dag->end_date < dag->start_date)
		err_at(l, root->start_mark.line, root->start_mark.column,
		    "end_date is before start_date");
	if (tasks == NULL)
		err_at(l, root->start_mark.line, root->start_mark.column, "missing required key 'tasks'");
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
	yaml_node_t *root;
	char *data = NULL;
	size_t len = 0;

	if (fs_read_file(path, &data, &len) != 0) {
		strv_push_take(&errs->msgs, xasprintf("%s:1:1: cannot read: %s", path, strerror(errno)));
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &l.doc)) {
		err_at(&l, parser.problem_mark.line, parser.problem_mark.column, "YAML: %s%s%s",
		    parser.problem ? parser.problem : "syntax error",
		    parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(data);
		return NULL;
	}
	root = yaml_document_get_root_node(&l.doc);
	dag = xcalloc(1, sizeof(*dag));
	dag->fileloc = xstrdup(path);
	dag->catchup = 1;
	dag->max_active_runs = 16;
	dag->max_active_tasks = 16;
	dag->params = cJSON_CreateObject();
	sha256_hex(data, len, dag->file_hash);
	if (root == NULL)
		err_at(&l, 0, 0, "the file is empty: a DAG needs dag_id and tasks");
	else if (root->type != YAML_MAPPING_NODE)
		ERR(&l, root, "a DAG file must be a mapping (dag_id: ..., tasks: ...)");
	else
		parse_dag(&l, dag, root);
	yaml_document_delete(&l.doc);
	yaml_parser_delete(&parser);
	free(data);
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
