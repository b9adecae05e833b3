/*
 * etl_tools.c: extract_csv_column and extract_field, the small helpers
 * ethereum-etl's workflows use to pass one column of a file (transaction
 * hashes, contract addresses) to the next command.
 */
#include "tasks/etl.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "tasks/itemin.h"

/* Writes item[field] of every item of ipath, one per line, to opath. */
static int
extract(struct etl_args *a, const char *ipath, const char *opath, const char *field)
{
	struct itemin *in;
	struct buf out = {0};
	cJSON *it = NULL;
	int got, rc = EX_DATAERR;

	if (ipath == NULL || field == NULL)
		return etl_usage_error(a, "-i/--input and the column or field are required");
	if ((in = itemin_open(ipath)) == NULL)
		return EX_DATAERR;
	while ((got = itemin_next(in, &it)) > 0) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, field);

		if (v == NULL) {
			log_error("%s:%zu: no column or field '%s'", ipath, itemin_line(in), field);
			goto out;
		}
		if (cJSON_IsString(v)) {
			buf_puts(&out, v->valuestring);
		} else {
			char *s = cJSON_PrintUnformatted(v);

			buf_puts(&out, s);
			free(s);
		}
		buf_putc(&out, '\n');
		cJSON_Delete(it);
		it = NULL;
	}
	if (got < 0)
		goto out;
	if (strcmp(opath, "-") == 0) {
		if (out.len)
			fwrite(out.data, 1, out.len, stdout);
		fflush(stdout);
	} else if (fs_write_atomic(opath, out.data ? out.data : "", out.len, 1) < 0) {
		log_error("%s: cannot write", opath);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(it);
	buf_free(&out);
	itemin_close(in);
	return rc;
}

static int
run_extract_csv_column(struct etl_args *a)
{
	return extract(a, etl_str(a, "input"), etl_str(a, "output"), etl_str(a, "column"));
}

static int
run_extract_field(struct etl_args *a)
{
	return extract(a, etl_str(a, "input"), etl_str(a, "output"), etl_str(a, "field"));
}

static const struct etl_opt csv_column_opts[] = {
	{"input", 'i', OPT_STR, "-", "CSV file"},
	{"output", 'o', OPT_STR, "-", "Output file, one value per line"},
	{"column", 'c', OPT_STR, NULL, "The column's name"},
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_extract_csv_column = {
	"extract_csv_column",
	"Prints one column of a CSV file, one value per line.",
	csv_column_opts, run_extract_csv_column,
};

static const struct etl_opt field_opts[] = {
	{"input", 'i', OPT_STR, "-", "JSON lines file"},
	{"output", 'o', OPT_STR, "-", "Output file, one value per line"},
	{"field", 'f', OPT_STR, NULL, "The field's name"},
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_extract_field = {
	"extract_field",
	"Prints one field of a JSON lines file, one value per line.",
	field_opts, run_extract_field,
};
