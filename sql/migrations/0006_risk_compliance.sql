-- Risk limits, daily risk tracking, the audit trail and alerts.

-- Limits for an account (strategy_id NULL) or for one strategy on it. A NULL
-- limit means "no limit". Amounts are positive: daily_loss_limit 50000 stops
-- trading at a loss of 50000. breached latches until the daily reset.
CREATE TABLE risk_limits (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    account_id VARCHAR(64) NOT NULL,
    strategy_id UUID,
    enabled BOOLEAN NOT NULL DEFAULT true,
    max_order_quantity INT8,
    max_order_value DECIMAL(20, 4),
    max_position_value DECIMAL(20, 4),
    max_open_positions INT8,
    daily_loss_limit DECIMAL(20, 4),
    daily_profit_target DECIMAL(20, 4),
    daily_trade_limit INT8,
    breached BOOLEAN NOT NULL DEFAULT false,
    breached_reason TEXT,
    breached_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT risk_limits_pkey PRIMARY KEY (id),
    CONSTRAINT risk_limits_strategy_fkey FOREIGN KEY (strategy_id)
        REFERENCES strategies (id) ON DELETE CASCADE,
    CONSTRAINT risk_limits_account_strategy_key UNIQUE (account_id, strategy_id),
    CONSTRAINT risk_limits_account_id_check CHECK (account_id <> ''),
    CONSTRAINT risk_limits_limits_check CHECK (
        (max_order_quantity IS NULL OR max_order_quantity > 0)
        AND (max_order_value IS NULL OR max_order_value > 0)
        AND (max_position_value IS NULL OR max_position_value > 0)
        AND (max_open_positions IS NULL OR max_open_positions > 0)
        AND (daily_loss_limit IS NULL OR daily_loss_limit > 0)
        AND (daily_profit_target IS NULL OR daily_profit_target > 0)
        AND (daily_trade_limit IS NULL OR daily_trade_limit > 0)
    ),
    CONSTRAINT risk_limits_breach_check CHECK (
        breached = (breached_at IS NOT NULL)
        AND (breached OR breached_reason IS NULL)
    )
);

-- At most one account-wide row per account (the UNIQUE constraint above does
-- not cover it, since NULL strategy_ids are distinct).
CREATE UNIQUE INDEX risk_limits_account_wide_key ON risk_limits (account_id)
    WHERE strategy_id IS NULL;

-- One row per account and trading day, updated through the day.
-- realized/unrealized P&L are signed; exposures and margin are amounts.
CREATE TABLE daily_risk_metrics (
    account_id VARCHAR(64) NOT NULL,
    trading_date DATE NOT NULL,
    realized_pnl DECIMAL(20, 4) NOT NULL DEFAULT 0,
    unrealized_pnl DECIMAL(20, 4) NOT NULL DEFAULT 0,
    peak_pnl DECIMAL(20, 4) NOT NULL DEFAULT 0,
    max_drawdown DECIMAL(20, 4) NOT NULL DEFAULT 0,
    gross_exposure DECIMAL(20, 4) NOT NULL DEFAULT 0,
    net_exposure DECIMAL(20, 4) NOT NULL DEFAULT 0,
    margin_used DECIMAL(20, 4) NOT NULL DEFAULT 0,
    order_count INT8 NOT NULL DEFAULT 0,
    rejected_order_count INT8 NOT NULL DEFAULT 0,
    trade_count INT8 NOT NULL DEFAULT 0,
    limit_breached BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT daily_risk_metrics_pkey PRIMARY KEY (account_id, trading_date),
    CONSTRAINT daily_risk_metrics_account_id_check CHECK (account_id <> ''),
    CONSTRAINT daily_risk_metrics_amounts_check CHECK (
        max_drawdown >= 0 AND gross_exposure >= 0 AND margin_used >= 0
        AND abs(net_exposure) <= gross_exposure
    ),
    CONSTRAINT daily_risk_metrics_counts_check CHECK (
        order_count >= 0 AND trade_count >= 0
        AND rejected_order_count >= 0 AND rejected_order_count <= order_count
    )
);

-- Append-only trail of critical operations (order placed/modified/cancelled,
-- limit changed, strategy started, ...). The application role may only read
-- and insert (0008). action is a dotted verb such as 'order.place';
-- old_values/new_values hold the changed fields.
CREATE TABLE audit_log (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Who did it: a user, an API key's owner or a system component.
    actor VARCHAR(128) NOT NULL,
    account_id VARCHAR(64),
    action VARCHAR(64) NOT NULL,
    entity_type VARCHAR(64) NOT NULL,
    entity_id VARCHAR(64),
    old_values JSONB,
    new_values JSONB,
    client_ip INET,
    request_id VARCHAR(64),
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_identifiers_check CHECK (
        actor <> '' AND action <> '' AND entity_type <> ''
    )
);

-- Everything that happened on an account, newest first.
CREATE INDEX idx_audit_log_account_occurred ON audit_log (account_id, occurred_at DESC);

-- History of one entity (an order, a strategy, ...).
CREATE INDEX idx_audit_log_entity ON audit_log (entity_type, entity_id, occurred_at DESC);

-- Notifications for operators and traders. account_id NULL: system-wide.
CREATE TABLE alerts (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    account_id VARCHAR(64),
    severity VARCHAR(8) NOT NULL,
    category VARCHAR(16) NOT NULL,
    title VARCHAR(200) NOT NULL,
    message TEXT NOT NULL,
    details JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by VARCHAR(128),
    CONSTRAINT alerts_pkey PRIMARY KEY (id),
    CONSTRAINT alerts_severity_check CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    CONSTRAINT alerts_category_check CHECK (
        category IN ('RISK', 'ORDER', 'STRATEGY', 'MARKET_DATA', 'SYSTEM', 'COMPLIANCE')
    ),
    CONSTRAINT alerts_title_check CHECK (title <> ''),
    CONSTRAINT alerts_acknowledgement_check CHECK (
        (acknowledged_at IS NULL) = (acknowledged_by IS NULL)
    )
);

-- Alerts of an account, newest first.
CREATE INDEX idx_alerts_account_created ON alerts (account_id, created_at DESC);

-- The open (unacknowledged) alerts, by severity.
CREATE INDEX idx_alerts_open ON alerts (severity, created_at DESC) WHERE acknowledged_at IS NULL;
