/*
 * executor.c: what every executor shares: the lookup by name, the try's
 * files beside its log (T.attempt=N.log and .status, whose last line is the
 * outcome; the local executor's claim heads it, the kubernetes executor's
 * is a .pod file), the outcome record that makes a finished try recoverable
 * by a restarted scheduler, and the STA_* environment of the task contract.
 */
#include "runner/executor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/fsutil.h"
#include "lib/util.h"
#include "runner/rules.h"

const struct executor_ops *
executor_find(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "local") == 0)
		return &executor_local;
	if (strcmp(name, "kubernetes") == 0)
		return &executor_kubernetes;
	return NULL;
}

char *
executor_try_file(const char *log_path, const char *ext)
{
	size_t n = strlen(log_path);

	if (str_has_suffix(log_path, ".log"))
		n -= 4;
	return xasprintf("%.*s.%s", (int)n, log_path, ext);
}

/* The line [start, end) of fd as a result when it is "STA_RESULT {object}";
 * chunk holds [chunk_off, chunk_off + chunk_len) of the file. */
static cJSON *
result_line(int fd, off_t start, off_t end, const char *chunk, off_t chunk_off,
    size_t chunk_len)
{
	static const char prefix[] = EXECUTOR_RESULT_PREFIX;
	const size_t plen = sizeof(prefix) - 1;
	char head[sizeof(prefix) - 1], *line;
	size_t len = (size_t)(end - start);
	cJSON *j = NULL;

	if (len < plen || len > EXECUTOR_RESULT_MAX)
		return NULL;
	if (start + (off_t)plen <= chunk_off + (off_t)chunk_len) {
		if (memcmp(chunk + (start - chunk_off), prefix, plen) != 0)
			return NULL;
	} else if (pread(fd, head, plen, start) != (ssize_t)plen || memcmp(head, prefix, plen) != 0) {
		return NULL;
	}
	line = xmalloc(len + 1);
	if (pread(fd, line, len, start) == (ssize_t)len) {
		line[len] = '\0';
		j = cJSON_Parse(line + plen);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	free(line);
	return j;
}

/* Reads the log backwards a chunk at a time and stops at the first result
 * line from the end: a log of any size costs a chunk and one line of
 * memory, and usually one read (a task prints its result last). */
cJSON *
executor_scan_result_fd(int fd, size_t chunk_size)
{
	char *chunk;
	struct stat st;
	off_t pos, line_end;
	cJSON *r = NULL;

	if (fstat(fd, &st) != 0 || st.st_size == 0)
		return NULL;
	chunk = xmalloc(chunk_size);
	pos = line_end = st.st_size;
	while (pos > 0 && r == NULL) {
		size_t n = pos < (off_t)chunk_size ? (size_t)pos : chunk_size;

		if (pread(fd, chunk, n, pos - (off_t)n) != (ssize_t)n)
			break;
		pos -= (off_t)n;
		for (size_t i = n; i-- > 0 && r == NULL;) {
			if (chunk[i] != '\n')
				continue;
			r = result_line(fd, pos + (off_t)i + 1, line_end, chunk, pos, n);
			line_end = pos + (off_t)i;
		}
		if (pos == 0 && r == NULL)
			r = result_line(fd, 0, line_end, chunk, 0, n);
	}
	free(chunk);
	return r;
}

cJSON *
executor_scan_result(const char *log_path)
{
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	cJSON *r;

	if (fd < 0)
		return NULL;
	r = executor_scan_result_fd(fd, EXECUTOR_RESULT_CHUNK);
	close(fd);
	return r;
}

static const char *const end_names[] = {
	[TRY_EXITED] = "exited",
	[TRY_TIMED_OUT] = "timed_out",
	[TRY_LOST] = "lost",
	[TRY_START_FAILED] = "start_failed",
	[TRY_DROPPED] = "dropped",
};

int
executor_outcome_succeeded(const struct try_outcome *o)
{
	return o->end == TRY_EXITED && o->signal == 0 &&
	    rules_exit_status(o->exit_code) == EXIT_VERDICT_SUCCESS;
}

char *
executor_outcome_json(const struct try_outcome *o, cJSON *result)
{
	cJSON *j = cJSON_CreateObject();
	char *json;

	cJSON_AddStringToObject(j, "end", end_names[o->end]);
	cJSON_AddNumberToObject(j, "exit_code", o->exit_code);
	cJSON_AddNumberToObject(j, "signal", o->signal);
	if (result != NULL)
		cJSON_AddItemToObject(j, "result", result);
	if (o->reason != NULL)
		cJSON_AddStringToObject(j, "reason", o->reason);
	cJSON_AddNumberToObject(j, "started_ms", (double)o->started_ms);
	cJSON_AddNumberToObject(j, "ended_ms", (double)(o->ended_ms ? o->ended_ms : time_now_ms()));
	json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return json;
}

int
executor_write_status(const char *status_path, const struct try_outcome *o, cJSON *result)
{
	char *json = executor_outcome_json(o, result);
	int rc = fs_write_atomic(status_path, json, strlen(json), 0);

	free(json);
	return rc;
}

/* A time of an outcome: NAME_ms, or NAME in seconds as status files
 * written before 2026-11-26 have it; 0 when absent or out of range (a
 * mangled file is not trusted with a time past JavaScript's last date). */
static int64_t
outcome_ms(const cJSON *j, const char *name)
{
	char key[32];
	const cJSON *v;
	double ms;

	snprintf(key, sizeof(key), "%s_ms", name);
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, key)))
		ms = v->valuedouble;
	else if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, name)))
		ms = v->valuedouble * 1000;
	else
		return 0;
	return ms >= 0 && ms <= 8.64e15 ? (int64_t)ms : 0;
}

/* An integer member (cJSON clamps it to int's range), or dflt. */
static int
outcome_int(const cJSON *j, const char *name, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

int
executor_parse_outcome(const char *json, struct try_outcome *o)
{
	cJSON *j = cJSON_Parse(json), *v;
	const char *end;

	memset(o, 0, sizeof(*o));
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "end");
	end = cJSON_IsString(v) ? v->valuestring : "";
	o->end = TRY_START_FAILED;
	for (size_t i = 0; i < sizeof(end_names) / sizeof(end_names[0]); i++)
		if (strcmp(end, end_names[i]) == 0)
			o->end = (enum try_end)i;
	o->exit_code = outcome_int(j, "exit_code", -1);
	o->signal = outcome_int(j, "signal", 0);
	o->started_ms = outcome_ms(j, "started");
	o->ended_ms = outcome_ms(j, "ended");
	v = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (cJSON_IsObject(v))
		o->result_json = cJSON_PrintUnformatted(v);
	v = cJSON_GetObjectItemCaseSensitive(j, "reason");
	if (cJSON_IsString(v))
		o->reason = xstrdup(v->valuestring);
	cJSON_Delete(j);
	return 0;
}

int
executor_read_status(const char *log_path, struct try_outcome *o)
{
	char *path = executor_try_file(log_path, "status"), *text = NULL, *line;
	size_t len;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	if (fs_read_file(path, &text, &len) == 0) {
		/* The outcome is the file's last line: the local executor's
		 * file begins with its claim. */
		while (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		line = strrchr(text, '\n');
		rc = executor_parse_outcome(line != NULL ? line + 1 : text, o);
	}
	free(text);
	free(path);
	return rc;
}

void
executor_outcome_free(struct try_outcome *o)
{
	free(o->result_json);
	free(o->reason);
	free(o->handle);
	memset(o, 0, sizeof(*o));
}

static char *
iso_var(const char *name, sta_time t)
{
	char iso[TIME_ISO_LEN];

	time_format_iso(t, iso);
	return xasprintf("%s=%s", name, iso);
}

void
executor_task_env(const struct try_spec *spec, struct strv *out)
{
	strv_push_take(out, xasprintf("STA_DAG_ID=%s", spec->dag_id));
	strv_push_take(out, xasprintf("STA_RUN_ID=%s", spec->run_id));
	strv_push_take(out, xasprintf("STA_TASK_ID=%s", spec->task_id));
	strv_push_take(out, xasprintf("STA_TRY_NUMBER=%d", spec->try_number));
	strv_push_take(out, iso_var("STA_LOGICAL_DATE", spec->logical_date));
	strv_push_take(out, iso_var("STA_DATA_INTERVAL_START", spec->data_interval_start));
	strv_push_take(out, iso_var("STA_DATA_INTERVAL_END", spec->data_interval_end));
	for (char *const *e = spec->env; e != NULL && *e != NULL; e++)
		strv_push(out, *e);
}
