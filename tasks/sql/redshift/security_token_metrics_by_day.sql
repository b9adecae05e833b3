-- {{ day = COLUMN }} selects one day (COLUMN = $1::date) for the daily
-- increment, or every row (1 = 1) for a full refresh.
-- Daily metrics per security-token standard, as
-- tasks/sql/postgres/security_token_metrics_by_day.sql computes them (same
-- columns, same values), in Amazon Redshift's dialect: no arrays, no
-- correlated subqueries (each metric is grouped by day and standard, then
-- joined), and no NUMERIC wider than 38 digits.
--
-- Token amounts are uint256 held as decimal text (VARCHAR(78)).  A sum is
-- exact: each amount is cut into three chunks of 26 digits (78 in all),
-- each chunk is summed as DECIMAL(38, 0), and the carries are propagated
-- from the low chunk up through fixed-width text, giving 90 digits with
-- leading zeros.  A chunk is below 10^26, so a sum of fewer than 10^12
-- rows fits 38 digits; a larger one stops with Redshift's numeric overflow
-- error, never a wrong total.  A balance is received minus sent: a holder
-- has a non-zero balance when the two exact sums differ.
DELETE FROM security_token_metrics_by_day WHERE {{ day = day }};
INSERT INTO security_token_metrics_by_day
WITH positions AS (
  -- places in a comma-separated standards list: the catalogue
  -- (tasks/sectoken.c) has 9 standards, so 16 places cover any list
  SELECT 1 AS i UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
  UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12
  UNION ALL SELECT 13 UNION ALL SELECT 14 UNION ALL SELECT 15 UNION ALL SELECT 16
),
tok AS (
  SELECT DISTINCT address, standard, first_seen_date FROM (
    SELECT c.address, SPLIT_PART(c.standards, ',', n.i) AS standard, c.first_seen_date
    FROM security_token_contracts c
    JOIN positions n ON n.i <= LENGTH(c.standards) - LENGTH(REPLACE(c.standards, ',', '')) + 1) u
  WHERE standard IN ('erc1400', 'erc1410', 'erc1594', 'erc1643', 'erc1644', 'erc3643')
),
days AS (SELECT DISTINCT block_date AS day FROM blocks WHERE {{ day = block_date }}),
std AS (SELECT DISTINCT standard FROM tok),
xfer AS (
  -- the tokens' transfers, each amount as three chunks, most significant first
  SELECT token_address, from_address, to_address, block_date,
    CAST(SUBSTRING(LPAD(COALESCE(value, '0'), 78, '0'), 1, 26) AS DECIMAL(38, 0)) AS v2,
    CAST(SUBSTRING(LPAD(COALESCE(value, '0'), 78, '0'), 27, 26) AS DECIMAL(38, 0)) AS v1,
    CAST(SUBSTRING(LPAD(COALESCE(value, '0'), 78, '0'), 53, 26) AS DECIMAL(38, 0)) AS v0
  FROM token_transfers WHERE token_address IN (SELECT address FROM tok)
),
flows AS (
  SELECT token_address, to_address AS holder, block_date, v2 AS in2, v1 AS in1, v0 AS in0,
    CAST(0 AS DECIMAL(38, 0)) AS out2, CAST(0 AS DECIMAL(38, 0)) AS out1,
    CAST(0 AS DECIMAL(38, 0)) AS out0
  FROM xfer
  UNION ALL
  SELECT token_address, from_address, block_date, 0, 0, 0, v2, v1, v0 FROM xfer
),
balances AS (
  -- what each holder received and sent up to each day's end, by chunk
  SELECT d.day, f.token_address, f.holder,
    CAST(SUM(f.in2) AS DECIMAL(38, 0)) AS in2, CAST(SUM(f.in1) AS DECIMAL(38, 0)) AS in1,
    CAST(SUM(f.in0) AS DECIMAL(38, 0)) AS in0, CAST(SUM(f.out2) AS DECIMAL(38, 0)) AS out2,
    CAST(SUM(f.out1) AS DECIMAL(38, 0)) AS out1, CAST(SUM(f.out0) AS DECIMAL(38, 0)) AS out0
  FROM days d JOIN flows f ON f.block_date <= d.day
  WHERE f.holder <> '0x0000000000000000000000000000000000000000'
  GROUP BY d.day, f.token_address, f.holder
),
sums AS (
  -- every exact sum the metrics need, as chunk sums: s2 * 10^52 + s1 * 10^26 + s0
  SELECT 'in' AS kind, day, CAST(NULL AS VARCHAR(32)) AS standard, token_address, holder,
    in2 AS s2, in1 AS s1, in0 AS s0
  FROM balances
  UNION ALL
  SELECT 'out', day, CAST(NULL AS VARCHAR(32)), token_address, holder, out2, out1, out0
  FROM balances
  UNION ALL
  SELECT 'issued', x.block_date, tok.standard, CAST(NULL AS VARCHAR(42)), CAST(NULL AS VARCHAR(42)),
    CAST(SUM(x.v2) AS DECIMAL(38, 0)), CAST(SUM(x.v1) AS DECIMAL(38, 0)),
    CAST(SUM(x.v0) AS DECIMAL(38, 0))
  FROM xfer x JOIN tok ON tok.address = x.token_address
  WHERE x.from_address = '0x0000000000000000000000000000000000000000'
    AND {{ day = x.block_date }}
  GROUP BY x.block_date, tok.standard
  UNION ALL
  SELECT 'redeemed', x.block_date, tok.standard, CAST(NULL AS VARCHAR(42)), CAST(NULL AS VARCHAR(42)),
    CAST(SUM(x.v2) AS DECIMAL(38, 0)), CAST(SUM(x.v1) AS DECIMAL(38, 0)),
    CAST(SUM(x.v0) AS DECIMAL(38, 0))
  FROM xfer x JOIN tok ON tok.address = x.token_address
  WHERE x.to_address = '0x0000000000000000000000000000000000000000'
    AND {{ day = x.block_date }}
  GROUP BY x.block_date, tok.standard
),
carry0 AS (
  -- the low chunk's sum as 38 digits: 12 of carry, then 26 kept
  SELECT kind, day, standard, token_address, holder, s2, s1,
    LPAD(CAST(s0 AS VARCHAR(38)), 38, '0') AS t0
  FROM sums
),
carry1 AS (
  -- the middle chunk's sum plus that carry, likewise
  SELECT kind, day, standard, token_address, holder, s2, t0,
    LPAD(CAST(s1 + CAST(SUBSTRING(t0, 1, 12) AS DECIMAL(38, 0)) AS VARCHAR(38)), 38, '0') AS t1
  FROM carry0
),
amounts AS (
  -- the exact total: 38 + 26 + 26 digits with leading zeros
  SELECT kind, day, standard, token_address, holder,
    LPAD(CAST(s2 + CAST(SUBSTRING(t1, 1, 12) AS DECIMAL(38, 0)) AS VARCHAR(38)), 38, '0')
      || SUBSTRING(t1, 13, 26) || SUBSTRING(t0, 13, 26) AS digits
  FROM carry1
),
totals AS (
  -- the day's issued and redeemed amounts without leading zeros
  SELECT kind, day, standard,
    CASE WHEN LTRIM(digits, '0') = '' THEN '0' ELSE LTRIM(digits, '0') END AS amount
  FROM amounts WHERE kind IN ('issued', 'redeemed')
),
holdings AS (
  SELECT day, token_address, holder FROM amounts
  WHERE kind IN ('in', 'out')
  GROUP BY day, token_address, holder
  HAVING MAX(CASE WHEN kind = 'in' THEN digits END) <> MAX(CASE WHEN kind = 'out' THEN digits END)
),
holder_counts AS (
  SELECT h.day, tok.standard, COUNT(DISTINCT h.holder) AS n
  FROM holdings h JOIN tok ON tok.address = h.token_address
  GROUP BY h.day, tok.standard
),
deployed AS (
  SELECT first_seen_date AS day, standard, COUNT(*) AS n FROM tok
  GROUP BY first_seen_date, standard
),
touched AS (
  SELECT token_address, block_date FROM security_token_events WHERE {{ day = block_date }}
  UNION
  SELECT token_address, block_date FROM token_transfers WHERE {{ day = block_date }}
),
active AS (
  SELECT t.block_date AS day, tok.standard, COUNT(*) AS n
  FROM touched t JOIN tok ON tok.address = t.token_address
  GROUP BY t.block_date, tok.standard
),
moves AS (
  SELECT x.block_date AS day, tok.standard, COUNT(*) AS n
  FROM xfer x JOIN tok ON tok.address = x.token_address
  WHERE x.from_address <> '0x0000000000000000000000000000000000000000'
    AND x.to_address <> '0x0000000000000000000000000000000000000000'
    AND {{ day = x.block_date }}
  GROUP BY x.block_date, tok.standard
),
parts AS (
  SELECT DISTINCT token_address, part, block_date FROM (
    SELECT token_address, "partition" AS part, block_date FROM security_token_events
    UNION ALL
    SELECT token_address, to_partition, block_date FROM security_token_events) p
  WHERE part IS NOT NULL AND {{ day = block_date }}
),
part_counts AS (
  SELECT p.block_date AS day, tok.standard, COUNT(*) AS n
  FROM parts p JOIN tok ON tok.address = p.token_address
  GROUP BY p.block_date, tok.standard
),
event_counts AS (
  SELECT e.block_date AS day, tok.standard,
    SUM(CASE WHEN e.event = 'DocumentUpdated' THEN 1 ELSE 0 END) AS documents,
    SUM(CASE WHEN e.event = 'ControllerTransfer' THEN 1 ELSE 0 END) AS forced
  FROM security_token_events e JOIN tok ON tok.address = e.token_address
  WHERE {{ day = e.block_date }}
  GROUP BY e.block_date, tok.standard
),
freezes AS (
  SELECT d.day, e.token_address, e.from_address AS holder,
    JSON_EXTRACT_PATH_TEXT(e.args, 'isFrozen') AS frozen,
    ROW_NUMBER() OVER (PARTITION BY d.day, e.token_address, e.from_address
                       ORDER BY e.block_number DESC, e.log_index DESC) AS latest
  FROM days d JOIN security_token_events e ON e.block_date <= d.day AND e.event = 'AddressFrozen'
),
frozen_counts AS (
  SELECT f.day, tok.standard, COUNT(DISTINCT f.holder) AS n
  FROM freezes f JOIN tok ON tok.address = f.token_address
  WHERE f.latest = 1 AND f.frozen = 'true'
  GROUP BY f.day, tok.standard
)
SELECT
  d.day,
  s.standard,
  COALESCE(dep.n, 0),
  COALESCE(act.n, 0),
  COALESCE(mv.n, 0),
  COALESCE(hc.n, 0),
  COALESCE(iss.amount, '0'),
  COALESCE(red.amount, '0'),
  COALESCE(pc.n, 0),
  COALESCE(ec.documents, 0),
  COALESCE(ec.forced, 0),
  COALESCE(fc.n, 0)
FROM days d CROSS JOIN std s
LEFT JOIN deployed dep ON dep.day = d.day AND dep.standard = s.standard
LEFT JOIN active act ON act.day = d.day AND act.standard = s.standard
LEFT JOIN moves mv ON mv.day = d.day AND mv.standard = s.standard
LEFT JOIN holder_counts hc ON hc.day = d.day AND hc.standard = s.standard
LEFT JOIN totals iss ON iss.kind = 'issued' AND iss.day = d.day AND iss.standard = s.standard
LEFT JOIN totals red ON red.kind = 'redeemed' AND red.day = d.day AND red.standard = s.standard
LEFT JOIN part_counts pc ON pc.day = d.day AND pc.standard = s.standard
LEFT JOIN event_counts ec ON ec.day = d.day AND ec.standard = s.standard
LEFT JOIN frozen_counts fc ON fc.day = d.day AND fc.standard = s.standard;
