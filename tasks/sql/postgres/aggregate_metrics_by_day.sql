-- {{ day = COLUMN }} selects one day (COLUMN = :date) for the daily
-- increment, or every row (1 = 1) for a full refresh.
-- Block and transaction metrics per day, from the blocks, the transactions
-- and the per-block transaction metrics.
DELETE FROM aggregate_metrics_by_day WHERE {{ day = day }};
INSERT INTO aggregate_metrics_by_day
SELECT
  b.block_date,
  COUNT(*),
  COUNT(DISTINCT b.miner),
  ROUND(AVG(b.difficulty)),
  MAX(b.total_difficulty),
  SUM(b.size),
  SUM(b.gas_used),
  SUM(b.transaction_count),
  COALESCE(SUM(m.transactions_cnt), 0),
  (SELECT COUNT(DISTINCT t.from_address) FROM transactions t
    WHERE t.block_date = b.block_date AND t.nonce = 0),
  (SELECT COUNT(DISTINCT t.from_address) FROM transactions t WHERE t.block_date = b.block_date),
  (SELECT COUNT(DISTINCT t.to_address) FROM transactions t WHERE t.block_date = b.block_date),
  COALESCE(SUM(m.value_transferred_wei), 0),
  ROUND(COALESCE(SUM(m.value_transferred_wei), 0) / 1000000000000000000.0, 6),
  COALESCE(SUM(m.total_gas_provided), 0)
FROM blocks b
LEFT JOIN aggregate_transaction_metrics_by_block m ON m.block_number = b.number
WHERE {{ day = b.block_date }}
GROUP BY b.block_date;
