-- Tick data and OHLC candles: the ingest tables.
--
-- market_data holds raw ticks for a short window (CockroachDB deletes rows
-- older than 7 days, see the .crdb.sql companion; elsewhere the application
-- purges). Its primary key is a random UUID so ingest spreads over all ranges;
-- idx_market_data_instrument_time serves the reads (latest tick, recent ticks
-- of one instrument) and stores the price and volume so they need no lookup
-- into the table.
CREATE TABLE market_data (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    instrument_id UUID NOT NULL,
    -- Exchange timestamp of the tick; rows expire 7 days after it.
    ts TIMESTAMPTZ NOT NULL,
    ltp DECIMAL(18, 4) NOT NULL,
    last_quantity INT8,
    volume INT8 NOT NULL DEFAULT 0,
    open_interest INT8,
    bid_price DECIMAL(18, 4),
    bid_quantity INT8,
    ask_price DECIMAL(18, 4),
    ask_quantity INT8,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT market_data_pkey PRIMARY KEY (id),
    CONSTRAINT market_data_instrument_fkey FOREIGN KEY (instrument_id) REFERENCES instruments (id),
    CONSTRAINT market_data_prices_check CHECK (
        ltp >= 0
        AND (bid_price IS NULL OR bid_price >= 0)
        AND (ask_price IS NULL OR ask_price >= 0)
    ),
    CONSTRAINT market_data_quantities_check CHECK (
        volume >= 0
        AND (last_quantity IS NULL OR last_quantity >= 0)
        AND (open_interest IS NULL OR open_interest >= 0)
        AND (bid_quantity IS NULL OR bid_quantity >= 0)
        AND (ask_quantity IS NULL OR ask_quantity >= 0)
    )
);

CREATE INDEX idx_market_data_instrument_time ON market_data (instrument_id, ts DESC)
    INCLUDE (ltp, volume);

-- OHLC candles, keyed by what they are: instrument, timeframe and the candle's
-- start time. Writers upsert on that key; readers scan one instrument's
-- timeframe backwards from the newest candle.
-- Timeframes are OpenAlgo's history intervals.
CREATE TABLE candles (
    instrument_id UUID NOT NULL,
    timeframe VARCHAR(4) NOT NULL,
    -- Start of the candle's interval.
    ts TIMESTAMPTZ NOT NULL,
    open DECIMAL(18, 4) NOT NULL,
    high DECIMAL(18, 4) NOT NULL,
    low DECIMAL(18, 4) NOT NULL,
    close DECIMAL(18, 4) NOT NULL,
    volume INT8 NOT NULL DEFAULT 0,
    open_interest INT8,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT candles_pkey PRIMARY KEY (instrument_id, timeframe, ts),
    CONSTRAINT candles_instrument_fkey FOREIGN KEY (instrument_id) REFERENCES instruments (id),
    CONSTRAINT candles_timeframe_check CHECK (
        timeframe IN ('1m', '3m', '5m', '10m', '15m', '30m', '1h', 'D', 'W', 'M')
    ),
    CONSTRAINT candles_ohlc_check CHECK (
        low >= 0 AND low <= high
        AND open >= low AND open <= high
        AND close >= low AND close <= high
    ),
    CONSTRAINT candles_volume_check CHECK (
        volume >= 0 AND (open_interest IS NULL OR open_interest >= 0)
    )
);
