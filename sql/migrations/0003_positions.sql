-- Net positions, one row per account, instrument and product, kept by the
-- application as fills arrive (insert or update on the primary key).
-- quantity is the net quantity in units: positive long, negative short, zero
-- flat. A flat row stays (its realized_pnl is the day's booked P&L) until the
-- application archives it to position_history.
-- The composite primary key leads with account_id: one account's book is
-- contiguous for reads, and writes are not time-ordered, so they do not pile
-- onto one range.
CREATE TABLE positions (
    account_id VARCHAR(64) NOT NULL,
    instrument_id UUID NOT NULL,
    product_type VARCHAR(16) NOT NULL,
    quantity INT8 NOT NULL DEFAULT 0,
    average_price DECIMAL(18, 4) NOT NULL DEFAULT 0,
    -- Last traded price from the mark-to-market loop; NULL until the first tick.
    last_price DECIMAL(18, 4),
    realized_pnl DECIMAL(20, 4) NOT NULL DEFAULT 0,
    opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT positions_pkey PRIMARY KEY (account_id, instrument_id, product_type),
    CONSTRAINT positions_instrument_fkey FOREIGN KEY (instrument_id) REFERENCES instruments (id),
    CONSTRAINT positions_account_id_check CHECK (account_id <> ''),
    CONSTRAINT positions_product_type_check CHECK (
        product_type IN ('CNC', 'NRML', 'MIS', 'DELIVERY', 'INTRADAY', 'MARGIN')
    ),
    CONSTRAINT positions_average_price_check CHECK (
        average_price >= 0 AND (quantity = 0 OR average_price > 0)
    ),
    CONSTRAINT positions_last_price_check CHECK (last_price IS NULL OR last_price >= 0)
);

-- Open positions of an account; flat rows stay out of the index.
CREATE INDEX idx_positions_account ON positions (account_id) WHERE quantity <> 0;

-- Closed round trips with their booked P&L. realized_pnl is gross (price
-- difference times quantity); charges are the fills' charges, so net P&L is
-- realized_pnl - charges.
CREATE TABLE position_history (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    account_id VARCHAR(64) NOT NULL,
    instrument_id UUID NOT NULL,
    product_type VARCHAR(16) NOT NULL,
    side VARCHAR(5) NOT NULL,
    quantity INT8 NOT NULL,
    average_entry_price DECIMAL(18, 4) NOT NULL,
    average_exit_price DECIMAL(18, 4) NOT NULL,
    realized_pnl DECIMAL(20, 4) NOT NULL,
    charges DECIMAL(20, 4) NOT NULL DEFAULT 0,
    opened_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT position_history_pkey PRIMARY KEY (id),
    CONSTRAINT position_history_instrument_fkey FOREIGN KEY (instrument_id)
        REFERENCES instruments (id),
    CONSTRAINT position_history_account_id_check CHECK (account_id <> ''),
    CONSTRAINT position_history_product_type_check CHECK (
        product_type IN ('CNC', 'NRML', 'MIS', 'DELIVERY', 'INTRADAY', 'MARGIN')
    ),
    CONSTRAINT position_history_side_check CHECK (side IN ('LONG', 'SHORT')),
    CONSTRAINT position_history_quantity_check CHECK (quantity > 0),
    CONSTRAINT position_history_prices_check CHECK (
        average_entry_price > 0 AND average_exit_price > 0
    ),
    CONSTRAINT position_history_charges_check CHECK (charges >= 0),
    CONSTRAINT position_history_period_check CHECK (closed_at >= opened_at)
);

-- P&L history of an account, newest first.
CREATE INDEX idx_position_history_account_closed ON position_history (account_id, closed_at DESC);
