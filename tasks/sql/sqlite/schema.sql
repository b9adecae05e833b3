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
CREATE TABLE IF NOT EXISTS security_token_contracts (
  address TEXT PRIMARY KEY,
  standards TEXT NOT NULL,              -- from its code and from its events, comma-separated
  name TEXT,
  symbol TEXT,
  decimals TEXT,
  first_seen_block INTEGER,             -- its creation, or its first event if created earlier
  first_seen_date TEXT
);
CREATE TABLE IF NOT EXISTS security_token_metrics_by_day (
  day TEXT NOT NULL,
  standard TEXT NOT NULL,
  tokens_deployed INTEGER NOT NULL,     -- first seen that day
  tokens_active INTEGER NOT NULL,       -- with a transfer or a catalogued event that day
  transfers INTEGER NOT NULL,           -- Transfer events, mints and burns excluded
  holders INTEGER NOT NULL,             -- addresses with a non-zero balance at the day's end
  issued_amount TEXT NOT NULL,          -- minted (Transfer from the zero address), base units
  redeemed_amount TEXT NOT NULL,        -- burnt (Transfer to the zero address), base units
  partitions_in_use INTEGER NOT NULL,   -- distinct (token, partition) in the day's events
  documents_published INTEGER NOT NULL, -- DocumentUpdated events
  controller_transfers INTEGER NOT NULL,-- ControllerTransfer events (forced transfers)
  frozen_addresses INTEGER NOT NULL,    -- frozen by AddressFrozen at the day's end
  PRIMARY KEY (day, standard)
);
