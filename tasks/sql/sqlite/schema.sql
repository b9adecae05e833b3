-- Aggregate tables of the SQLite store.  The exported tables are created
-- from tasks/warehouse.c's column lists.  uint256 amounts are exact
-- decimal text; dec_sum, dec_max and dec_div (registered by sta) do exact
-- arithmetic on them.
CREATE TABLE IF NOT EXISTS aggregate_transaction_metrics_by_block (
  block_number INTEGER PRIMARY KEY,
  block_date TEXT NOT NULL,
  transactions_cnt INTEGER NOT NULL,
  new_addresses INTEGER NOT NULL,       -- senders of a first transaction (nonce 0)
  unique_senders INTEGER NOT NULL,
  unique_receivers INTEGER NOT NULL,
  value_transferred_wei TEXT NOT NULL,
  value_transferred_eth TEXT NOT NULL,  -- wei / 10^18, rounded to 6 places
  total_gas_provided INTEGER NOT NULL,  -- sum of the transactions' gas limits
  avg_gas_price TEXT NOT NULL           -- wei, rounded to an integer
);
CREATE INDEX IF NOT EXISTS aggregate_transaction_metrics_by_block_date
  ON aggregate_transaction_metrics_by_block (block_date);
CREATE TABLE IF NOT EXISTS aggregate_metrics_by_day (
  day TEXT PRIMARY KEY,
  blocks_cnt INTEGER NOT NULL,
  unique_miners INTEGER NOT NULL,
  avg_difficulty TEXT,                  -- rounded to an integer
  cumulative_difficulty TEXT,           -- the day's highest total difficulty
  total_blocksize_bytes INTEGER NOT NULL,
  gas_used INTEGER NOT NULL,
  transactions_cnt_from_blocks INTEGER NOT NULL,
  transactions_cnt INTEGER NOT NULL,
  new_addresses INTEGER NOT NULL,
  unique_senders INTEGER NOT NULL,      -- distinct over the day
  unique_receivers INTEGER NOT NULL,
  value_transferred_wei TEXT NOT NULL,
  value_transferred_eth TEXT NOT NULL,
  total_gas_provided INTEGER NOT NULL
);
