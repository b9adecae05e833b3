-- {{ day = COLUMN }} is not used: the table is small and rebuilt whole.
-- Security-token contracts: every contract whose code implements a
-- security-token standard (contracts.standards, from export_contracts
-- --with-standards) and answers name() or symbol(), or that emitted a
-- catalogued security-token event of a token (a token behind a proxy shows
-- only this way; an identity registry's events do not make it a token),
-- with the standards from both signals, its token metadata and when it was
-- first seen.
DELETE FROM security_token_contracts;
INSERT INTO security_token_contracts
WITH signals AS (
  SELECT c.address, unnest(string_to_array(c.standards, ',')) AS standard, c.block_number,
    c.block_date
  FROM contracts c
  WHERE c.standards IS NOT NULL AND c.standards <> ''
  UNION ALL
  SELECT address, NULL, block_number, block_date FROM contracts
  UNION ALL
  SELECT token_address, standard, block_number, block_date FROM security_token_events
  WHERE event NOT IN ('IdentityRegistered', 'CountryUpdated')
),
named AS (
  SELECT address FROM tokens
  WHERE COALESCE(name, '') <> '' OR COALESCE(symbol, '') <> ''
),
security AS (
  -- a token by its code only when it also answers name() or symbol(): an
  -- implementation behind a proxy has the code but is not a token itself
  SELECT DISTINCT address FROM signals
  WHERE standard IN ('erc1400', 'erc1410', 'erc1594', 'erc1643', 'erc1644', 'erc3643')
    AND (address IN (SELECT address FROM named)
         OR address IN (SELECT token_address FROM security_token_events
                        WHERE event NOT IN ('IdentityRegistered', 'CountryUpdated')))
)
SELECT
  s.address,
  (SELECT string_agg(DISTINCT standard, ',' ORDER BY standard) FROM signals g
   WHERE g.address = s.address AND standard IS NOT NULL),
  t.name,
  t.symbol,
  t.decimals::text,
  (SELECT MIN(block_number) FROM signals g WHERE g.address = s.address),
  (SELECT MIN(block_date) FROM signals g WHERE g.address = s.address)
FROM security s
LEFT JOIN (SELECT address, MAX(name) AS name, MAX(symbol) AS symbol, MAX(decimals) AS decimals
           FROM tokens GROUP BY address) t ON t.address = s.address;
