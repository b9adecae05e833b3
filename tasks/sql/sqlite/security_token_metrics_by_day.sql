-- {{ day = COLUMN }} selects one day (COLUMN = :date) for the daily
-- increment, or every row (1 = 1) for a full refresh.
-- Daily metrics per security-token standard, over the tokens of
-- security_token_contracts (build it first).  Volumes come from the
-- Transfer events only: a partition transfer, an issuance and a redemption
-- also emit their own events, which are not added again.
DELETE FROM security_token_metrics_by_day WHERE {{ day = day }};
INSERT INTO security_token_metrics_by_day
WITH tok AS (
  SELECT DISTINCT c.address, j.value AS standard, c.first_seen_date
  FROM security_token_contracts c, json_each('["' || replace(c.standards, ',', '","') || '"]') j
  WHERE j.value IN ('erc1400', 'erc1410', 'erc1594', 'erc1643', 'erc1644', 'erc3643')
),
days AS (SELECT DISTINCT block_date AS day FROM blocks WHERE {{ day = block_date }}),
std AS (SELECT DISTINCT standard FROM tok),
flows AS (
  SELECT token_address, to_address AS holder, value AS inv, NULL AS outv, block_date
  FROM token_transfers WHERE token_address IN (SELECT address FROM tok)
  UNION ALL
  SELECT token_address, from_address, NULL, value, block_date
  FROM token_transfers WHERE token_address IN (SELECT address FROM tok)
),
holdings AS (
  SELECT d.day, f.token_address, f.holder
  FROM days d JOIN flows f ON f.block_date <= d.day
  WHERE f.holder <> '0x0000000000000000000000000000000000000000'
  GROUP BY d.day, f.token_address, f.holder
  HAVING COALESCE(dec_sum(f.inv), '0') <> COALESCE(dec_sum(f.outv), '0')
),
freezes AS (
  SELECT d.day, e.token_address, e.from_address AS holder,
    json_extract(e.args, '$.isFrozen') AS frozen,
    ROW_NUMBER() OVER (PARTITION BY d.day, e.token_address, e.from_address
                       ORDER BY e.block_number DESC, e.log_index DESC) AS latest
  FROM days d JOIN security_token_events e ON e.block_date <= d.day AND e.event = 'AddressFrozen'
),
parts AS (
  SELECT DISTINCT token_address, part, block_date FROM (
    SELECT token_address, partition AS part, block_date FROM security_token_events
    UNION ALL
    SELECT token_address, to_partition, block_date FROM security_token_events)
  WHERE part IS NOT NULL
)
SELECT
  d.day,
  s.standard,
  (SELECT COUNT(*) FROM tok WHERE tok.standard = s.standard AND tok.first_seen_date = d.day),
  (SELECT COUNT(*) FROM tok WHERE tok.standard = s.standard AND (
     EXISTS (SELECT 1 FROM security_token_events e
             WHERE e.block_date = d.day AND e.token_address = tok.address)
     OR EXISTS (SELECT 1 FROM token_transfers x
                WHERE x.block_date = d.day AND x.token_address = tok.address))),
  (SELECT COUNT(*) FROM token_transfers x JOIN tok ON tok.address = x.token_address
   WHERE tok.standard = s.standard AND x.block_date = d.day
     AND x.from_address <> '0x0000000000000000000000000000000000000000'
     AND x.to_address <> '0x0000000000000000000000000000000000000000'),
  (SELECT COUNT(DISTINCT h.holder) FROM holdings h JOIN tok ON tok.address = h.token_address
   WHERE tok.standard = s.standard AND h.day = d.day),
  (SELECT COALESCE(dec_sum(x.value), '0') FROM token_transfers x JOIN tok ON tok.address = x.token_address
   WHERE tok.standard = s.standard AND x.block_date = d.day
     AND x.from_address = '0x0000000000000000000000000000000000000000'),
  (SELECT COALESCE(dec_sum(x.value), '0') FROM token_transfers x JOIN tok ON tok.address = x.token_address
   WHERE tok.standard = s.standard AND x.block_date = d.day
     AND x.to_address = '0x0000000000000000000000000000000000000000'),
  (SELECT COUNT(*) FROM parts JOIN tok ON tok.address = parts.token_address
   WHERE tok.standard = s.standard AND parts.block_date = d.day),
  (SELECT COUNT(*) FROM security_token_events e JOIN tok ON tok.address = e.token_address
   WHERE tok.standard = s.standard AND e.block_date = d.day AND e.event = 'DocumentUpdated'),
  (SELECT COUNT(*) FROM security_token_events e JOIN tok ON tok.address = e.token_address
   WHERE tok.standard = s.standard AND e.block_date = d.day AND e.event = 'ControllerTransfer'),
  (SELECT COUNT(DISTINCT f.holder) FROM freezes f JOIN tok ON tok.address = f.token_address
   WHERE tok.standard = s.standard AND f.day = d.day AND f.latest = 1 AND f.frozen = 1)
FROM days d CROSS JOIN std s;
