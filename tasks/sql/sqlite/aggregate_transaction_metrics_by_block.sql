-- {{ day = COLUMN }} selects one day (COLUMN = :date) for the daily
-- increment, or every row (1 = 1) for a full refresh.
-- Transaction metrics per block, for one day or all of them.
DELETE FROM aggregate_transaction_metrics_by_block WHERE {{ day = block_date }};
INSERT INTO aggregate_transaction_metrics_by_block
SELECT
  block_number,
  block_date,
  COUNT(DISTINCT hash),
  COUNT(DISTINCT CASE WHEN nonce = 0 THEN from_address END),
  COUNT(DISTINCT from_address),
  COUNT(DISTINCT to_address),
  dec_sum(value),
  dec_div(dec_sum(value), '1000000000000000000', 6),
  SUM(gas),
  dec_div(dec_sum(gas_price), COUNT(gas_price), 0)
FROM transactions
WHERE {{ day = block_date }}
GROUP BY block_number, block_date;
