-- Desk-wide order blotter by time (end-of-day reconciliation, compliance
-- queries across accounts). A plain index on placed_at would send every new
-- order to the same range; hash sharding spreads them over buckets.
CREATE INDEX IF NOT EXISTS idx_orders_placed_at ON orders (placed_at DESC)
    USING HASH WITH (bucket_count = 16);
