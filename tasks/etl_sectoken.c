/*
 * etl_sectoken.c: extract_security_token_events (every catalogued
 * security-token event of a logs file, decoded into one row each) and
 * security_token_catalog (the catalogue with its computed topics and
 * selectors, for docs and for checking against another Keccak).
 */
#include "tasks/etl.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/keccak.h"
#include "lib/log.h"
#include "tasks/itemin.h"
#include "tasks/sectoken.h"

static const char *const event_cols[] = {
	"token_address", "standard", "event", "block_number", "transaction_hash", "log_index",
	"from_address", "to_address", "operator_address", "partition", "to_partition", "value",
	"document_name", "document_uri", "document_hash", "args",
};
enum { E_TOKEN, E_STANDARD, E_EVENT, E_BLOCK, E_TX, E_LOGINDEX, E_NCOLS = 16 };

/* The row column of each st_column. */
static const int column_of[] = {
	[STC_FROM] = 6, [STC_TO] = 7, [STC_OPERATOR] = 8, [STC_PARTITION] = 9,
	[STC_TO_PARTITION] = 10, [STC_VALUE] = 11, [STC_DOC_NAME] = 12, [STC_DOC_URI] = 13,
	[STC_DOC_HASH] = 14,
};

/* An item-file value as text (numbers from JSON files included). */
static char *
item_text(const cJSON *it, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);

	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsNumber(v))
		return xasprintf("%.0f", v->valuedouble);
	return NULL;
}

static void
item_topics(const cJSON *it, struct strv *out)
{
	const cJSON *topics = cJSON_GetObjectItemCaseSensitive(it, "topics"), *t;

	if (cJSON_IsString(topics)) {
		char *list = xstrdup(topics->valuestring), *save = NULL;

		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
			strv_push(out, p);
		free(list);
		return;
	}
	cJSON_ArrayForEach(t, topics)
		if (cJSON_IsString(t))
			strv_push(out, t->valuestring);
}

static void
event_row(struct row *r, const cJSON *log, const struct st_event *e, cJSON *args)
{
	char *s, *addr;
	const cJSON *a;

	row_clear(r);
	addr = item_text(log, "address");
	for (char *p = addr; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	row_str(r, E_TOKEN, addr);
	free(addr);
	row_str(r, E_STANDARD, e->standard);
	row_str(r, E_EVENT, e->name);
	row_num_take(r, E_BLOCK, item_text(log, "block_number"));
	s = item_text(log, "transaction_hash");
	row_str(r, E_TX, s);
	free(s);
	row_num_take(r, E_LOGINDEX, item_text(log, "log_index"));
	for (int i = 0; i < st_nparams(e); i++) {
		const struct st_param *p = &e->params[i];

		a = cJSON_GetObjectItemCaseSensitive(args, p->name);
		if (p->column == STC_NONE || a == NULL)
			continue;
		if (p->column == STC_VALUE && cJSON_IsString(a))
			row_num(r, (size_t)column_of[p->column], a->valuestring);
		else if (cJSON_IsString(a))
			row_str(r, (size_t)column_of[p->column], a->valuestring);
	}
	s = cJSON_PrintUnformatted(args);
	row_str(r, E_NCOLS - 1, s);
	free(s);
}

/* One log of a logs file: its row, if it is a catalogued security event. */
static int
event_item(void *ctx, const cJSON *it, struct itemout *out, char **why)
{
	struct row *row = ctx;
	struct strv topics = {0};
	const struct st_event *e = NULL;
	cJSON *args = NULL;
	char *data = item_text(it, "data"), *w = NULL;
	int d, rc = 0;

	item_topics(it, &topics);
	d = st_decode(&topics, data ? data : "0x", &e, &args, &w);
	if (d < 0) {
		*why = xasprintf("a %s log that is malformed (%s); not decoded", topics.v[0], w);
		rc = 1;
	} else if (d > 0) {
		event_row(row, it, e, args);
		rc = itemout_write(out, row) < 0 ? -1 : 0;
	}
	free(w);
	free(data);
	cJSON_Delete(args);
	strv_free(&topics);
	return rc;
}

static int
run_extract_events(struct etl_args *a)
{
	struct row row;
	int rc;

	row_init(&row, E_NCOLS);
	rc = etl_extract(a, etl_str(a, "logs"), etl_str(a, "output"), "security_token_events",
	    event_cols, E_NCOLS, event_item, &row);
	row_free(&row);
	return rc;
}

static const struct etl_opt extract_events_opts[] = {
	{"logs", 'l', OPT_STR, NULL, "Logs file (.csv or .json) from export_receipts_and_logs"},
	{"output", 'o', OPT_STR, NULL, "Security-token events file (.csv or .json)"},
	ETL_OPT_DATE, ETL_OPT_LAKE, ETL_OPT_PROVIDER,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_extract_security_token_events = {
	"extract_security_token_events",
	"Decodes ERC-1400 family and ERC-3643 events of a logs file, one row per event.",
	extract_events_opts, run_extract_events,
};

/* Prints the catalogue: one JSON object per event and per standard. */
static int
run_catalog(struct etl_args *a)
{
	(void)a;
	for (size_t i = 0; i < st_nevents; i++) {
		const struct st_event *e = &st_events[i];
		struct buf sig = {0};
		char topic[67];
		cJSON *o = cJSON_CreateObject(), *idx = cJSON_CreateArray();
		char *s;

		st_event_signature(e, &sig);
		st_event_topic(e, topic);
		for (int k = 0; k < st_nparams(e); k++)
			cJSON_AddItemToArray(idx, cJSON_CreateBool(e->params[k].indexed));
		cJSON_AddStringToObject(o, "kind", "event");
		cJSON_AddStringToObject(o, "standard", e->standard);
		cJSON_AddStringToObject(o, "signature", sig.data);
		cJSON_AddStringToObject(o, "topic0", topic);
		cJSON_AddItemToObject(o, "indexed", idx);
		cJSON_AddBoolToObject(o, "security", e->security);
		cJSON_AddStringToObject(o, "source", e->source);
		s = cJSON_PrintUnformatted(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
		buf_free(&sig);
	}
	for (size_t i = 0; i < st_nstandards; i++) {
		const struct st_standard *st = &st_standards[i];
		cJSON *o = cJSON_CreateObject(), *sels = cJSON_CreateObject();
		char *s;

		for (size_t k = 0; st->selectors[k]; k++) {
			char sel[11];

			keccak_selector(st->selectors[k], sel);
			cJSON_AddStringToObject(sels, st->selectors[k], sel);
		}
		cJSON_AddStringToObject(o, "kind", "standard");
		cJSON_AddStringToObject(o, "standard", st->id);
		cJSON_AddStringToObject(o, "title", st->title);
		cJSON_AddStringToObject(o, "source", st->source);
		cJSON_AddItemToObject(o, "selectors", sels);
		s = cJSON_PrintUnformatted(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	}
	return 0;
}

static const struct etl_opt catalog_opts[] = {
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_security_token_catalog = {
	"security_token_catalog",
	"Prints the security-token standards catalogue: events, topics, selectors (JSON lines).",
	catalog_opts, run_catalog,
};
