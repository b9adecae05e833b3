-- Aggregate tables of the Amazon Redshift store (tasks/sql/postgres/schema.sql
-- in Redshift's types); the exported tables are created from
-- tasks/warehouse.c's column lists.  Redshift's NUMERIC holds 38 digits at
-- most, so token amounts (uint256, up to 78 digits) are decimal text here,
-- as in the exported tables; TEXT would be VARCHAR(256).
CREATE TABLE IF NOT EXISTS aggregate_transaction_metrics_by_block (
  block_number BIGINT PRIMARY KEY,
  block_date DATE NOT NULL,
  transactions_cnt BIGINT NOT NULL,
  new_addresses BIGINT NOT NULL,        -- senders of a first transaction (nonce 0)
  unique_senders BIGINT NOT NULL,
  unique_receivers BIGINT NOT NULL,
  value_transferred_wei NUMERIC(38, 0) NOT NULL,
  value_transferred_eth NUMERIC(38, 6) NOT NULL,  -- wei / 10^18, rounded to 6 places
  total_gas_provided BIGINT NOT NULL,   -- sum of the transactions' gas limits
  avg_gas_price NUMERIC(38, 0) NOT NULL -- wei, rounded to an integer
);
CREATE TABLE IF NOT EXISTS aggregate_metrics_by_day (
  day DATE PRIMARY KEY,
  blocks_cnt BIGINT NOT NULL,
  unique_miners BIGINT NOT NULL,
  avg_difficulty NUMERIC(38, 0),        -- rounded to an integer
  cumulative_difficulty NUMERIC(38, 0), -- the day's highest total difficulty
  total_blocksize_bytes BIGINT NOT NULL,
  gas_used BIGINT NOT NULL,
  transactions_cnt_from_blocks BIGINT NOT NULL,
  transactions_cnt BIGINT NOT NULL,
  new_addresses BIGINT NOT NULL,
  unique_senders BIGINT NOT NULL,       -- distinct over the day
  unique_receivers BIGINT NOT NULL,
  value_transferred_wei NUMERIC(38, 0) NOT NULL,
  value_transferred_eth NUMERIC(38, 6) NOT NULL,
  total_gas_provided BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS security_token_contracts (
  address VARCHAR(42) PRIMARY KEY,
  standards VARCHAR(256) NOT NULL,      -- from its code and from its events, comma-separated
  name VARCHAR(65535),
  symbol VARCHAR(65535),
  decimals VARCHAR(78),
  first_seen_block BIGINT,              -- its creation, or its first event if created earlier
  first_seen_date DATE
);
CREATE TABLE IF NOT EXISTS security_token_metrics_by_day (
  day DATE NOT NULL,
  standard VARCHAR(32) NOT NULL,
  tokens_deployed BIGINT NOT NULL,      -- first seen that day
  tokens_active BIGINT NOT NULL,        -- with a transfer or a catalogued event that day
  transfers BIGINT NOT NULL,            -- Transfer events, mints and burns excluded
  holders BIGINT NOT NULL,              -- addresses with a non-zero balance at the day's end
  issued_amount VARCHAR(78) NOT NULL,   -- minted, exact decimal digits
  redeemed_amount VARCHAR(78) NOT NULL, -- burnt, exact decimal digits
  partitions_in_use BIGINT NOT NULL,    -- distinct (token, partition) in the day's events
  documents_published BIGINT NOT NULL,  -- DocumentUpdated events
  controller_transfers BIGINT NOT NULL, -- ControllerTransfer events (forced transfers)
  frozen_addresses BIGINT NOT NULL,     -- frozen by AddressFrozen at the day's end
  PRIMARY KEY (day, standard)
);
