-- The role the cockroachdb-client pod's shell signs in as (client certificate,
-- no password): it reads the trading tables and the cluster's state for the
-- runbooks (positions, table sizes, running queries, ranges, node status) and
-- changes nothing. Writes, DDL, backups and restores stay with root, used from
-- the deploying machine by `pulumi up` and `python -m operations`.
CREATE ROLE IF NOT EXISTS openalgo_operator WITH LOGIN;

-- Every table and view the schema has: trading tables, audit log, v_active_positions.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO openalgo_operator;

-- Tables later migrations create are readable by the operator at once.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO openalgo_operator;

-- crdb_internal.cluster_queries and the statement pages need VIEWACTIVITY;
-- crdb_internal.ranges, table sizes and `cockroach node status` need
-- VIEWCLUSTERMETADATA; SHOW CLUSTER SETTINGS needs VIEWCLUSTERSETTING.
GRANT SYSTEM VIEWACTIVITY, VIEWCLUSTERMETADATA, VIEWCLUSTERSETTING TO openalgo_operator;
