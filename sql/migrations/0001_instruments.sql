-- Instrument master: OpenAlgo's symbol master contract, one row per contract on
-- an exchange, refreshed from the broker's contract file.
--   symbol          OpenAlgo's broker-independent symbol (RELIANCE, NIFTY28MAR2422000CE)
--   brsymbol        the same contract as the broker names it (RELIANCE-EQ)
--   exchange        OpenAlgo's exchange code; brexchange is the broker's
--   token           the broker's numeric/string instrument token
--   instrumenttype  as the broker reports it (EQ, FUT, CE, PE, INDEX, OPTIDX, ...)
-- The primary key is a random UUID: inserts spread over all ranges, and every
-- other table refers to an instrument by this id (instrument_id).
CREATE TABLE instruments (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    symbol VARCHAR(64) NOT NULL,
    brsymbol VARCHAR(64) NOT NULL,
    name VARCHAR(128),
    exchange VARCHAR(16) NOT NULL,
    brexchange VARCHAR(16),
    token VARCHAR(32) NOT NULL,
    instrumenttype VARCHAR(16) NOT NULL,
    expiry DATE,
    strike DECIMAL(18, 4),
    lotsize INT8 NOT NULL DEFAULT 1,
    tick_size DECIMAL(18, 4) NOT NULL DEFAULT 0.05,
    -- Contracts that left the master file are deactivated, not deleted: orders
    -- and trades keep referring to them.
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT instruments_pkey PRIMARY KEY (id),
    CONSTRAINT instruments_symbol_exchange_key UNIQUE (symbol, exchange),
    CONSTRAINT instruments_exchange_token_key UNIQUE (exchange, token),
    CONSTRAINT instruments_exchange_check CHECK (
        exchange IN (
            'NSE', 'BSE', 'NFO', 'BFO', 'CDS', 'BCD', 'MCX', 'NCDEX',
            'NSE_INDEX', 'BSE_INDEX'
        )
    ),
    CONSTRAINT instruments_identifiers_check CHECK (
        symbol <> '' AND brsymbol <> '' AND token <> '' AND instrumenttype <> ''
    ),
    CONSTRAINT instruments_lotsize_check CHECK (lotsize > 0),
    CONSTRAINT instruments_tick_size_check CHECK (tick_size > 0),
    CONSTRAINT instruments_strike_check CHECK (strike IS NULL OR strike >= 0),
    CONSTRAINT instruments_option_check CHECK (
        instrumenttype NOT IN ('CE', 'PE') OR (strike IS NOT NULL AND expiry IS NOT NULL)
    ),
    CONSTRAINT instruments_future_check CHECK (instrumenttype <> 'FUT' OR expiry IS NOT NULL)
);

-- Maps the broker's order book and tick feed back to OpenAlgo symbols.
CREATE INDEX idx_instruments_brsymbol_exchange ON instruments (brsymbol, exchange);

-- Option-chain and expiry lookups by underlying.
CREATE INDEX idx_instruments_name_expiry ON instruments (name, expiry);
