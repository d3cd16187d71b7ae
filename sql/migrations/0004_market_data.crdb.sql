-- Row-level TTL: CockroachDB's TTL job deletes ticks 7 days after their
-- exchange timestamp. The expression converts through UTC because adding days
-- to a TIMESTAMPTZ depends on the session time zone, and a TTL expression must
-- give the same answer everywhere.
ALTER TABLE market_data SET (
    ttl_expiration_expression = '((ts AT TIME ZONE ''UTC'') + INTERVAL ''7 days'') AT TIME ZONE ''UTC''',
    ttl_job_cron = '@hourly'
);
