-- Orders and their fills.
--
-- account_id is the broker account (client code) the order is placed for, as a
-- string: Indian broker client codes are alphanumeric (e.g. 'AB1234'), and
-- OpenAlgo keys its books by a string user id. There is no accounts table;
-- accounts are managed by OpenAlgo.
-- instrument_id is the UUID primary key of instruments (0001).
--
-- Vocabulary (OpenAlgo's, plus the original deployment's):
--   order_type        MARKET, LIMIT, SL, SL-M           (OpenAlgo: pricetype)
--   transaction_type  BUY, SELL                         (OpenAlgo: action)
--   product_type      CNC, NRML, MIS                    (OpenAlgo: product)
--                     DELIVERY, INTRADAY, MARGIN        (generic names used by the
--                                                        original deployment)
--   status            OpenAlgo's order states, plus 'pending' for an order
--                     recorded but not yet acknowledged by the broker.
-- Every NOT NULL column without a value in a plain "place order" INSERT
-- (account, instrument, type, side, product, quantity, price) has a default.
-- updated_at is kept by the application (no triggers).
CREATE TABLE orders (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    account_id VARCHAR(64) NOT NULL,
    instrument_id UUID NOT NULL,
    -- OpenAlgo's free-text strategy tag sent with the API request.
    strategy VARCHAR(100),
    broker_order_id VARCHAR(64),
    order_type VARCHAR(8) NOT NULL,
    transaction_type VARCHAR(4) NOT NULL,
    product_type VARCHAR(16) NOT NULL,
    validity VARCHAR(8) NOT NULL DEFAULT 'DAY',
    quantity INT8 NOT NULL,
    disclosed_quantity INT8 NOT NULL DEFAULT 0,
    -- Limit price; 0 for MARKET and SL-M orders.
    price DECIMAL(18, 4) NOT NULL DEFAULT 0,
    trigger_price DECIMAL(18, 4),
    status VARCHAR(16) NOT NULL DEFAULT 'pending',
    filled_quantity INT8 NOT NULL DEFAULT 0,
    average_price DECIMAL(18, 4),
    rejection_reason TEXT,
    placed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_instrument_fkey FOREIGN KEY (instrument_id) REFERENCES instruments (id),
    CONSTRAINT orders_account_broker_order_key UNIQUE (account_id, broker_order_id),
    -- Target of trades_order_fkey: pins a fill to its order's account,
    -- instrument, side and product.
    CONSTRAINT orders_fill_identity_key UNIQUE (
        id, account_id, instrument_id, transaction_type, product_type
    ),
    CONSTRAINT orders_account_id_check CHECK (account_id <> ''),
    CONSTRAINT orders_order_type_check CHECK (order_type IN ('MARKET', 'LIMIT', 'SL', 'SL-M')),
    CONSTRAINT orders_transaction_type_check CHECK (transaction_type IN ('BUY', 'SELL')),
    CONSTRAINT orders_product_type_check CHECK (
        product_type IN ('CNC', 'NRML', 'MIS', 'DELIVERY', 'INTRADAY', 'MARGIN')
    ),
    CONSTRAINT orders_validity_check CHECK (validity IN ('DAY', 'IOC')),
    CONSTRAINT orders_status_check CHECK (
        status IN ('pending', 'open', 'trigger pending', 'complete', 'cancelled', 'rejected')
    ),
    CONSTRAINT orders_quantity_check CHECK (quantity > 0),
    CONSTRAINT orders_disclosed_quantity_check CHECK (
        disclosed_quantity >= 0 AND disclosed_quantity <= quantity
    ),
    CONSTRAINT orders_price_check CHECK (price >= 0),
    CONSTRAINT orders_limit_price_check CHECK (order_type NOT IN ('LIMIT', 'SL') OR price > 0),
    CONSTRAINT orders_trigger_price_check CHECK (trigger_price IS NULL OR trigger_price > 0),
    CONSTRAINT orders_stop_loss_trigger_check CHECK (
        order_type NOT IN ('SL', 'SL-M') OR trigger_price IS NOT NULL
    ),
    CONSTRAINT orders_filled_quantity_check CHECK (
        filled_quantity >= 0 AND filled_quantity <= quantity
    ),
    CONSTRAINT orders_average_price_check CHECK (
        (average_price IS NULL OR average_price >= 0)
        AND (filled_quantity = 0 OR average_price IS NOT NULL)
    ),
    CONSTRAINT orders_complete_check CHECK (status <> 'complete' OR filled_quantity = quantity),
    CONSTRAINT orders_rejected_check CHECK (status <> 'rejected' OR filled_quantity = 0)
);

-- Order book of an account, optionally filtered by status, newest first.
CREATE INDEX idx_orders_account_status ON orders (account_id, status, placed_at DESC);

-- One fill (execution) of an order, with the charges the broker reported.
-- account_id, instrument_id, transaction_type and product_type repeat the
-- order's values so trade history and position building need no join;
-- trades_order_fkey guarantees they match the order.
-- The database cannot check that the fills of an order add up to at most its
-- quantity without triggers: the application keeps orders.filled_quantity.
CREATE TABLE trades (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    account_id VARCHAR(64) NOT NULL,
    instrument_id UUID NOT NULL,
    transaction_type VARCHAR(4) NOT NULL,
    product_type VARCHAR(16) NOT NULL,
    broker_trade_id VARCHAR(64),
    quantity INT8 NOT NULL,
    price DECIMAL(18, 4) NOT NULL,
    brokerage DECIMAL(18, 4) NOT NULL DEFAULT 0,
    -- Securities transaction tax / commodities transaction tax.
    stt DECIMAL(18, 4) NOT NULL DEFAULT 0,
    exchange_charges DECIMAL(18, 4) NOT NULL DEFAULT 0,
    sebi_charges DECIMAL(18, 4) NOT NULL DEFAULT 0,
    stamp_duty DECIMAL(18, 4) NOT NULL DEFAULT 0,
    gst DECIMAL(18, 4) NOT NULL DEFAULT 0,
    executed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT trades_pkey PRIMARY KEY (id),
    CONSTRAINT trades_order_fkey FOREIGN KEY (
        order_id, account_id, instrument_id, transaction_type, product_type
    ) REFERENCES orders (id, account_id, instrument_id, transaction_type, product_type),
    CONSTRAINT trades_account_broker_trade_key UNIQUE (account_id, broker_trade_id),
    CONSTRAINT trades_quantity_check CHECK (quantity > 0),
    CONSTRAINT trades_price_check CHECK (price > 0),
    CONSTRAINT trades_charges_check CHECK (
        brokerage >= 0 AND stt >= 0 AND exchange_charges >= 0
        AND sebi_charges >= 0 AND stamp_duty >= 0 AND gst >= 0
    )
);

-- Trade book of an account, newest first.
CREATE INDEX idx_trades_account_executed ON trades (account_id, executed_at DESC);

-- Fills of one order.
CREATE INDEX idx_trades_order ON trades (order_id);
