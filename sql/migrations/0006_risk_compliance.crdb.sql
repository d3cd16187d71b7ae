-- Compliance queries read the audit trail by time across all accounts. A plain
-- index on occurred_at would send every new entry to the same range; hash
-- sharding spreads them over buckets.
CREATE INDEX IF NOT EXISTS idx_audit_log_occurred_at ON audit_log (occurred_at DESC)
    USING HASH WITH (bucket_count = 16);
