#!/usr/bin/env bash
# redshift_sql.sh: the SQL sent to Amazon Redshift, which cannot run here.
# A redshift:// store with dry_run=1 prints its statements instead of
# connecting; this checks their content and order.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
RS='redshift://loader:pw@example.invalid:5439/dev?iam_role=arn:aws:iam::123456789012:role/loader&region=us-east-1&dry_run=1'
out=$("$STA" load blocks 2024-03-01 --lake s3://lake/eth --store "$RS" 2>&1)
is "a dry-run load exits 0" "$?" 0
check "tables get dist and sort keys" grep -q 'CREATE TABLE IF NOT EXISTS blocks (.*) DISTKEY (number) COMPOUND SORTKEY (block_date, timestamp)' <<<"$out"
check "wei amounts are NUMERIC(38, 0)" grep -q 'value NUMERIC(38, 0)' <<<"$out"
check "token amounts, wider than 38 digits, are text" grep -q 'CREATE TABLE IF NOT EXISTS token_transfers (.*value VARCHAR(78)' <<<"$out"
check "no CREATE INDEX (Redshift has none)" bash -c '! grep -q "CREATE INDEX" <<<"$1"' _ "$out"
check "COPY reads the partition from S3 with the IAM role, CSV, header skipped" \
	grep -qF "COPY stage_blocks (number, hash" <<<"$out"
check "... from the partition's S3 URI" \
	grep -qF "FROM 's3://lake/eth/export/blocks/block_date=2024-03-01/blocks.csv' IAM_ROLE 'arn:aws:iam::123456789012:role/loader' FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL ACCEPTINVCHARS REGION 'us-east-1'" <<<"$out"
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
out=$("$STA" load blocks 2024-03-01 --lake s3://lake/eth --store 'redshift://u@h/db' 2>&1)
is "a Redshift store without iam_role is refused" "$?" 1
check "... naming what is missing" grep -q 'iam_role' <<<"$out"
done_testing
