-- {{ day = COLUMN }} is not used: the table is small and rebuilt whole.
-- Security-token contracts, as tasks/sql/postgres/security_token_contracts.sql
-- computes them, in Amazon Redshift's dialect: no arrays (a standards list
-- is split with SPLIT_PART over a few positions), LISTAGG for string_agg,
-- joins instead of correlated subqueries, and token decimals held as text
-- compared as fixed-width digits so the largest is the numeric largest.
DELETE FROM security_token_contracts;
INSERT INTO security_token_contracts
WITH positions AS (
  -- places in a comma-separated standards list: the catalogue
  -- (tasks/sectoken.c) has 9 standards, so 16 places cover any list
  SELECT 1 AS i UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
  UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12
  UNION ALL SELECT 13 UNION ALL SELECT 14 UNION ALL SELECT 15 UNION ALL SELECT 16
),
signals AS (
  SELECT c.address, SPLIT_PART(c.standards, ',', n.i) AS standard, c.block_number, c.block_date
  FROM contracts c
  JOIN positions n ON n.i <= LENGTH(c.standards) - LENGTH(REPLACE(c.standards, ',', '')) + 1
  WHERE c.standards IS NOT NULL AND c.standards <> ''
  UNION ALL
  SELECT address, CAST(NULL AS VARCHAR(32)), block_number, block_date FROM contracts
  UNION ALL
  SELECT token_address, standard, block_number, block_date FROM security_token_events
  WHERE event NOT IN ('IdentityRegistered', 'CountryUpdated')
),
tokenlike AS (
  -- answers name() or symbol(), or emitted a catalogued event of a token
  SELECT address FROM tokens
  WHERE COALESCE(name, '') <> '' OR COALESCE(symbol, '') <> ''
  UNION
  SELECT token_address FROM security_token_events
  WHERE event NOT IN ('IdentityRegistered', 'CountryUpdated')
),
security AS (
  -- a token by its code only when it also answers name() or symbol(): an
  -- implementation behind a proxy has the code but is not a token itself
  SELECT DISTINCT address FROM signals
  WHERE standard IN ('erc1400', 'erc1410', 'erc1594', 'erc1643', 'erc1644', 'erc3643')
    AND address IN (SELECT address FROM tokenlike)
),
standards AS (
  SELECT address, LISTAGG(standard, ',') WITHIN GROUP (ORDER BY standard) AS standards
  FROM (SELECT DISTINCT address, standard FROM signals WHERE standard IS NOT NULL) d
  GROUP BY address
),
firsts AS (
  SELECT address, MIN(block_number) AS first_block, MIN(block_date) AS first_date
  FROM signals GROUP BY address
),
meta AS (
  SELECT address, MAX(name) AS name, MAX(symbol) AS symbol,
    MAX(LPAD(decimals, 78, '0')) AS decimals78
  FROM tokens GROUP BY address
)
SELECT
  s.address,
  g.standards,
  t.name,
  t.symbol,
  CASE WHEN LTRIM(t.decimals78, '0') = '' THEN '0' ELSE LTRIM(t.decimals78, '0') END,
  f.first_block,
  f.first_date
FROM security s
JOIN standards g ON g.address = s.address
JOIN firsts f ON f.address = s.address
LEFT JOIN meta t ON t.address = s.address;
