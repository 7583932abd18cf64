-- Orders, then the hash-partitioned transaction ledger that references them
-- (orders must exist first: seed-defects #2).
-- quantx:lint-ignore prefer-text-field varchar(n) lengths are the seed schema's, which deployed databases and the application already rely on

CREATE TABLE orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    -- NO ACTION as in the seed: users are soft-deleted, and a hard delete is
    -- refused anyway while they own portfolios (seed-defects #28, #29).
    user_id UUID NOT NULL REFERENCES users (id),
    symbol VARCHAR(20) NOT NULL,
    order_type order_type_enum NOT NULL,
    side order_side_enum NOT NULL,
    quantity DECIMAL(18,8) NOT NULL,
    price DECIMAL(15,4),
    stop_price DECIMAL(15,4),
    time_in_force tif_enum NOT NULL DEFAULT 'DAY',
    status order_status_enum NOT NULL DEFAULT 'PENDING',
    -- NOT NULL: a NULL would bypass chk_filled_quantity_valid (seed-defects #22).
    filled_quantity DECIMAL(18,8) NOT NULL DEFAULT 0,
    average_fill_price DECIMAL(15,4),
    broker_order_id VARCHAR(100),
    broker VARCHAR(50),
    -- NOT NULL: checked by chk_orders_fees_nonnegative (seed-defects #21, #22).
    fees DECIMAL(15,2) NOT NULL DEFAULT 0,
    commission DECIMAL(15,2) NOT NULL DEFAULT 0,
    error_message TEXT,
    placed_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    filled_at TIMESTAMP WITH TIME ZONE,
    canceled_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE,
    metadata JSONB DEFAULT '{}',
    -- Set by the retention job (UPDATE orders SET archived = true ...); the seed
    -- used the column without defining it (seed-defects #10).
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    -- Same name as on transactions: CHECK names are per table, so this is legal
    -- (seed-defects #26).
    CONSTRAINT chk_quantity_positive CHECK (quantity > 0),
    -- Also covers the seed's chk_filled_quantity_limit, which is not created
    -- (seed-defects #25).
    CONSTRAINT chk_filled_quantity_valid CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    -- Same rule as chk_fees_nonnegative on transactions (seed-defects #21).
    CONSTRAINT chk_orders_fees_nonnegative CHECK (fees >= 0 AND commission >= 0)
);

CREATE INDEX idx_orders_portfolio_id ON orders (portfolio_id);
-- idx_orders_user_id is not created: idx_orders_user_status_date leads with
-- user_id (seed-defects #37).
CREATE INDEX idx_orders_symbol ON orders (symbol);
CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_orders_placed_at ON orders (placed_at);
CREATE INDEX idx_orders_user_status_date ON orders (user_id, status, placed_at);

-- One definition with the full column list and PARTITION BY (seed-defects #4).
CREATE TABLE transactions (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    -- NO ACTION: deleting an order that has fills is refused, while a portfolio
    -- delete still cascades cleanly through orders and transactions, because the
    -- NO ACTION check runs at the end of the statement (seed-defects #29).
    order_id UUID REFERENCES orders (id),
    -- symbol, quantity and price are nullable: cash rows (DEPOSIT, WITHDRAWAL) have
    -- none of them. What each type needs is in chk_transaction_shape (seed-defects #21).
    symbol VARCHAR(20),
    transaction_type transaction_type_enum NOT NULL,
    quantity DECIMAL(18,8),
    price DECIMAL(15,4),
    -- NOT NULL: a NULL would make chk_transaction_amount pass (seed-defects #22).
    fees DECIMAL(15,2) NOT NULL DEFAULT 0,
    -- Always >= 0; the direction of the cash flow comes from transaction_type
    -- (seed-defects #20, #21, project decision).
    total_amount DECIMAL(15,2) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',
    executed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    settlement_date DATE,
    notes TEXT,
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    -- A unique constraint on a partitioned table must include the partition key
    -- (seed-defects #5). Consequence: nothing can reference transactions(id) alone.
    PRIMARY KEY (id, portfolio_id),
    -- NULL passes these two, which is what cash rows need (seed-defects #21).
    CONSTRAINT chk_quantity_positive CHECK (quantity > 0),
    CONSTRAINT chk_price_positive CHECK (price > 0),
    CONSTRAINT chk_fees_nonnegative CHECK (fees >= 0),
    CONSTRAINT chk_total_amount_nonnegative CHECK (total_amount >= 0),
    -- What each type must carry (seed-defects #21). COALESCE(..., FALSE): a CHECK
    -- that evaluates to NULL passes, so without it a row with a NULL in a compared
    -- column would slip through (seed-defects #22).
    CONSTRAINT chk_transaction_shape CHECK (COALESCE(
        CASE transaction_type
            WHEN 'BUY' THEN symbol IS NOT NULL AND quantity IS NOT NULL AND price IS NOT NULL
            WHEN 'SELL' THEN symbol IS NOT NULL AND quantity IS NOT NULL AND price IS NOT NULL
            WHEN 'DIVIDEND' THEN symbol IS NOT NULL AND total_amount > 0
            WHEN 'DEPOSIT' THEN quantity IS NULL AND price IS NULL AND total_amount > 0
            WHEN 'WITHDRAWAL' THEN quantity IS NULL AND price IS NULL AND total_amount > 0
            WHEN 'SPLIT' THEN symbol IS NOT NULL
            WHEN 'MERGER' THEN symbol IS NOT NULL
            WHEN 'SPINOFF' THEN symbol IS NOT NULL
        END, FALSE)),
    -- quantity * price has scale 12 while total_amount is rounded to 2 decimals on
    -- input, so the product is rounded too (seed-defects #19). PG rounds numeric
    -- half away from zero; the Go side must do the same, not banker's rounding.
    -- A SELL records net proceeds: gross minus fees (seed-defects #20).
    CONSTRAINT chk_transaction_amount CHECK (COALESCE(
        CASE transaction_type
            WHEN 'BUY' THEN total_amount = ROUND(quantity * price, 2) + fees
            WHEN 'SELL' THEN total_amount = ROUND(quantity * price, 2) - fees
            ELSE TRUE
        END, FALSE))
) PARTITION BY HASH (portfolio_id);

-- All four remainders, or rows hashing to a missing one fail (seed-defects #6).
CREATE TABLE transactions_p0 PARTITION OF transactions FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE transactions_p1 PARTITION OF transactions FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE transactions_p2 PARTITION OF transactions FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE transactions_p3 PARTITION OF transactions FOR VALUES WITH (MODULUS 4, REMAINDER 3);

-- Plain CREATE INDEX on the empty parent: it cascades to the partitions, and
-- CONCURRENTLY is impossible here (transaction, partitioned table: seed-defects #13).
-- idx_transactions_portfolio_id is not created: idx_transactions_portfolio_symbol_date
-- and idx_transactions_portfolio_executed_at lead with portfolio_id (seed-defects #37).
CREATE INDEX idx_transactions_symbol ON transactions (symbol);
CREATE INDEX idx_transactions_executed_at ON transactions (executed_at);
CREATE INDEX idx_transactions_type ON transactions (transaction_type);
CREATE INDEX idx_transactions_portfolio_symbol_date ON transactions (portfolio_id, symbol, executed_at);
-- Replaces the seed's idx_transactions_recent, whose NOW() predicate is refused
-- ("functions in index predicate must be marked IMMUTABLE"); a literal cutoff would
-- go stale (seed-defects #9).
CREATE INDEX idx_transactions_portfolio_executed_at ON transactions (portfolio_id, executed_at DESC);
-- FK column index: without it, every order delete scans all four partitions
-- (seed-defects #38).
CREATE INDEX idx_transactions_order_id ON transactions (order_id);
