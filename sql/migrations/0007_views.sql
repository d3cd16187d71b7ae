-- Open positions with their instrument and mark-to-market P&L.
-- unrealized_pnl = (last_price - average_price) * net_quantity, which is right
-- for shorts too (negative quantity); NULL until a last price is known.
CREATE VIEW v_active_positions AS
SELECT
    p.account_id,
    p.instrument_id,
    i.symbol,
    i.exchange,
    i.instrumenttype,
    p.product_type,
    p.quantity AS net_quantity,
    CASE WHEN p.quantity > 0 THEN 'LONG' ELSE 'SHORT' END AS side,
    p.average_price,
    p.last_price,
    (p.last_price - p.average_price) * p.quantity AS unrealized_pnl,
    p.realized_pnl,
    p.opened_at,
    p.updated_at
FROM positions AS p
JOIN instruments AS i ON i.id = p.instrument_id
WHERE p.quantity <> 0;
