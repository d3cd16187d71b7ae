-- Privileges of the application role `{{app_user}}` (created, with LOGIN and
-- without admin rights, before migrations run). It reads and writes the
-- trading tables, may only append to and read the audit trail, and reads the
-- view. It cannot create, alter or drop anything.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE
    instruments,
    orders,
    trades,
    positions,
    position_history,
    market_data,
    candles,
    strategies,
    strategy_state,
    signals,
    strategy_performance,
    risk_limits,
    daily_risk_metrics,
    alerts
TO {{app_user}};

GRANT SELECT, INSERT ON TABLE audit_log TO {{app_user}};

GRANT SELECT ON TABLE v_active_positions TO {{app_user}};

-- Tables that later migrations create (as the same admin user) are readable by
-- the application at once; write access stays an explicit GRANT in the
-- migration that creates the table, so a new append-only table never gets
-- UPDATE or DELETE by accident.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {{app_user}};
