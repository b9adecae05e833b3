#!/usr/bin/env bash
# redshift_sql.sh: the SQL sent to Amazon Redshift, which cannot run here.
# A redshift:// store with dry_run=1 prints its statements instead of
# connecting; this checks their content and order.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
RS='redshift://loader:pw@example.invalid:5439/dev?iam_role=arn:aws:iam::123456789012:role/loader&region=us-east-1&dry_run=1'
out=$("$STA" load blocks 2024-03-01 --lake s3://lake/eth --store "$RS" 2>&1)
is "a dry-run load exits 0" "$?" 0
check "tables get dist and sort keys" grep -q 'CREATE TABLE IF NOT EXISTS blocks (.*) DISTKEY ("number") COMPOUND SORTKEY (block_date, "timestamp")' <<<"$out"
check "wei amounts are NUMERIC(38, 0)" grep -q '"value" NUMERIC(38, 0)' <<<"$out"
check "token amounts, wider than 38 digits, are text" grep -q 'CREATE TABLE IF NOT EXISTS token_transfers (.*"value" VARCHAR(78)' <<<"$out"
check "columns named by reserved words (timestamp, partition) are quoted" \
	bash -c 'grep -q "\"timestamp\" BIGINT" <<<"$1" && ! grep -Pq "[(,] (timestamp|partition) " <<<"$1"' _ "$out"
check "no CREATE INDEX (Redshift has none)" bash -c '! grep -q "CREATE INDEX" <<<"$1"' _ "$out"
check "COPY reads the partition from S3 with the IAM role, CSV, header skipped" \
	grep -qF 'COPY stage_blocks ("number", "hash"' <<<"$out"
check "... from the partition's S3 URI" \
	grep -qF "FROM 's3://lake/eth/export/blocks/block_date=2024-03-01/blocks.csv' IAM_ROLE 'arn:aws:iam::123456789012:role/loader' FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL ACCEPTINVCHARS REGION 'us-east-1'" <<<"$out"
# COPY cannot take parameters: a quote in the lake prefix, the role or the
# region is doubled, so it can neither break the statement nor add a clause.
RSQ="redshift://loader:pw@example.invalid:5439/dev?iam_role=arn:aws:iam::123456789012:role/x' CREDENTIALS 'y&region=us-east-1'z&dry_run=1"
qout=$("$STA" load blocks 2024-03-01 --lake "s3://lake/it's" --store "$RSQ" 2>&1)
is "a dry-run load with quotes in the prefix, role and region exits 0" "$?" 0
check "... the quotes are doubled in COPY's literals" \
	grep -qF "FROM 's3://lake/it''s/export/blocks/block_date=2024-03-01/blocks.csv' IAM_ROLE 'arn:aws:iam::123456789012:role/x'' CREDENTIALS ''y' FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL ACCEPTINVCHARS REGION 'us-east-1''z'" <<<"$qout"
order=$(grep -oE '^(BEGIN|CREATE TEMP TABLE|COPY|DELETE FROM blocks|INSERT INTO blocks|DROP TABLE stage_blocks|COMMIT)' <<<"$out" | tr '\n' '|')
is "stage, delete, insert in one transaction" "$order" \
	"BEGIN|CREATE TEMP TABLE|COPY|DELETE FROM blocks|INSERT INTO blocks|DROP TABLE stage_blocks|COMMIT|"
check "the partition's date is a parameter" grep -q 'DELETE FROM blocks WHERE block_date = \$1; -- \$1 = 2024-03-01' <<<"$out"
out=$("$STA" load blocks 2024-03-01 --lake file:///nonexistent --store "$RS" 2>&1)
is "Redshift needs an S3 lake" "$?" 1
check "... and says so" grep -q 'Redshift loads blocks 2024-03-01 from S3' <<<"$out"
out=$("$STA" aggregate aggregate_metrics_by_day 2024-03-01 --store "$RS" 2>&1)
check "the daily aggregate deletes and inserts its day" \
	grep -q 'DELETE FROM aggregate_metrics_by_day WHERE day = \$1::date; -- \$1 = 2024-03-01' <<<"$out"

# The security-token aggregates in Redshift's own dialect (tasks/sql/redshift;
# tests/integration/redshift_sectoken.py runs it): nothing Redshift lacks,
# exact chunked sums of the text amounts.  Comments are left out of the
# checks; the statements are those after BEGIN (before it: the tables).
body() { sed -n '/^BEGIN;$/,$p' <<<"$1" | sed 's/--.*$//'; }
c_out=$("$STA" aggregate security_token_contracts --full --store "$RS" 2>&1)
is "security_token_contracts: a dry run exits 0" "$?" 0
d_out=$("$STA" aggregate security_token_metrics_by_day 2024-03-01 --store "$RS" 2>&1)
is "security_token_metrics_by_day for a day: a dry run exits 0" "$?" 0
f_out=$("$STA" aggregate security_token_metrics_by_day --full --store "$RS" 2>&1)
is "security_token_metrics_by_day in full: a dry run exits 0" "$?" 0
sec=$(body "$c_out"; body "$d_out"; body "$f_out")
for pat in 'string_agg' 'array_agg' 'unnest' 'string_to_array' 'array_to_string' 'ARRAY\[' \
	'generate_series' 'DISTINCT ON' 'FILTER *\(' '::json' '->>' '\bSUBSTR *\(' 'IS DISTINCT FROM' \
	'::numeric\(78' 'NUMERIC\(78'; do
	check "security-token SQL for Redshift has no $pat" bash -c '! grep -Eiq -- "$1" <<<"$2"' _ "$pat" "$sec"
done
check "... nor NUMERIC(78, 0) in any table it creates" bash -c '! grep -qi "numeric(78" <<<"$1"' _ "$c_out"
check "the metrics table keeps amounts as VARCHAR(78)" \
	grep -qE 'issued_amount VARCHAR\(78\) NOT NULL.*' <<<"$c_out"
check "standards are split with SPLIT_PART" grep -q "SPLIT_PART(c.standards, ',', n.i)" <<<"$sec"
check "... and joined with LISTAGG ... WITHIN GROUP" \
	grep -q "LISTAGG(standard, ',') WITHIN GROUP (ORDER BY standard)" <<<"$sec"
check "amounts are cut into three 26-digit chunks summed as DECIMAL(38, 0)" bash -c '
	for at in 1 27 53; do
		grep -qF "CAST(SUBSTRING(LPAD(COALESCE(value, '"'0'"'), 78, '"'0'"'), $at, 26) AS DECIMAL(38, 0))" <<<"$1" || exit 1
	done' _ "$sec"
check "... whose carries go up through 38-digit text" bash -c '
	grep -qF "s1 + CAST(SUBSTRING(t0, 1, 12) AS DECIMAL(38, 0))" <<<"$1" &&
	grep -qF "s2 + CAST(SUBSTRING(t1, 1, 12) AS DECIMAL(38, 0))" <<<"$1"' _ "$sec"
check "every subquery is a WITH query, an IN list or a derived table (no correlated scalar subqueries)" bash -c '
	flat=$(tr "\n" " " <<<"$1" | sed "s/  */ /g; s/( SELECT/(SELECT/g")
	all=$(grep -o "(SELECT" <<<"$flat" | wc -l)
	allowed=$(grep -oE "(AS|IN|FROM) \(SELECT" <<<"$flat" | wc -l)
	[ "$all" -gt 0 ] && [ "$all" -eq "$allowed" ]' _ "$sec"
check "partition (reserved in Redshift) is quoted" \
	bash -c 'grep -q "\"partition\"" <<<"$1" && ! grep -Pq "(?<![\"_])partition(?![\"_])" <<<"$1"' _ "$sec"
check "the day's metrics are deleted and inserted for that day" \
	grep -q 'DELETE FROM security_token_metrics_by_day WHERE day = \$1::date; -- \$1 = 2024-03-01' <<<"$d_out"
check "a full refresh has no day parameter" bash -c '! grep -q "\$1" <<<"$1"' _ "$(body "$f_out")"
check "other aggregates still get the PostgreSQL files" \
	grep -q 'INSERT INTO aggregate_metrics_by_day' <<<"$("$STA" aggregate aggregate_metrics_by_day --full --store "$RS" 2>&1)"

out=$("$STA" load blocks 2024-03-01 --lake s3://lake/eth --store 'redshift://u@h/db' 2>&1)
is "a Redshift store without iam_role is refused" "$?" 1
check "... naming what is missing" grep -q 'iam_role' <<<"$out"
done_testing
