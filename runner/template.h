/*
 * template.h: the `{{ ... }}` templating of DAG strings, a strict subset of
 * Airflow's Jinja macros that renders identically in both schedulers:
 * ds, ds_nodash, ts, logical_date, data_interval_start, data_interval_end,
 * dag.dag_id, task.task_id, run_id, params.X, var.value.X.  Nothing else
 * (no filters, no expressions, no {% %} blocks) is accepted.
 */
#ifndef STA_TEMPLATE_H
#define STA_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/timeutil.h"

struct template_ctx {
	const char *dag_id;
	const char *task_id;
	const char *run_id;
	sta_time logical_date;
	sta_time data_interval_start;
	sta_time data_interval_end;
	const cJSON *params;	/* DAG params merged with the run's conf */
	/* Looks up var.value.KEY: returns 0 with *value (caller frees) or -1. */
	int (*var_get)(void *arg, const char *key, char **value);
	void *var_arg;
};

/* Checks s without rendering.  Returns 0, or -1 with err set and
 * *err_offset the byte offset of the offending "{{" (or "{%") in s. */
int template_check(const char *s, size_t *err_offset, char *err, size_t errlen);
/* Renders s into *out (caller frees).  Returns 0, or -1 with err naming the
 * missing param or variable.  Values render as Airflow renders them:
 * strings as is, integers in decimal, booleans True/False, null None, times
 * in the ISO form of timeutil.h.  Floats, objects and lists are an error:
 * Python and C print them differently, so they could not render alike. */
int template_render(const char *s, const struct template_ctx *ctx, char **out,
    char *err, size_t errlen);
/* True when s contains no "{{" or "{%" at all (nothing to render). */
int template_is_plain(const char *s);

#endif
