-- Portfolios, the instrument master and holdings.
-- quantx:lint-ignore prefer-text-field varchar(n) lengths are the seed schema's, which deployed databases and the application already rely on

CREATE TABLE portfolios (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    -- Kept as in the seed and flagged: deleting an organization deletes its
    -- portfolios and their whole ledger (seed-defects #30, project decision).
    organization_id UUID REFERENCES organizations (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    risk_level risk_level_enum NOT NULL DEFAULT 'MODERATE',
    strategy_type strategy_type_enum,
    benchmark_symbol VARCHAR(20),
    initial_balance DECIMAL(15,2) NOT NULL DEFAULT 0,
    current_value DECIMAL(15,2) DEFAULT 0,
    unrealized_pnl DECIMAL(15,2) DEFAULT 0,
    realized_pnl DECIMAL(15,2) DEFAULT 0,
    -- NOT NULL: a NULL would bypass chk_cash_balance_positive (seed-defects #22).
    cash_balance DECIMAL(15,2) NOT NULL DEFAULT 0,
    settings JSONB DEFAULT '{}',
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    CONSTRAINT chk_positive_balance CHECK (initial_balance >= 0),
    -- Inline instead of the seed's later ALTER; the seed name is kept for
    -- traceability although the rule is "non-negative" (seed-defects #23).
    CONSTRAINT chk_cash_balance_positive CHECK (cash_balance >= 0),
    -- Exactly one FK on user_id, RESTRICT: "prevent deletion of users with active
    -- portfolios". The seed also had an inline ON DELETE CASCADE FK, and which of
    -- the two won depended on trigger order, flipping across a dump/restore
    -- (seed-defects #28, project decision).
    CONSTRAINT fk_portfolios_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT
);

-- Not redundant with idx_portfolios_active: that one is partial, and the
-- RESTRICT check on user deletes needs an index over every row.
CREATE INDEX idx_portfolios_user_id ON portfolios (user_id);
CREATE INDEX idx_portfolios_organization_id ON portfolios (organization_id);
CREATE INDEX idx_portfolios_strategy_type ON portfolios (strategy_type);
CREATE INDEX idx_portfolios_created_at ON portfolios (created_at);
CREATE INDEX idx_portfolios_active ON portfolios (user_id, created_at) WHERE is_active = true;

CREATE TABLE instruments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- symbol is the global instrument key (option A of seed-defects #31, project
    -- decision): holdings, orders and transactions all key by symbol alone.
    symbol VARCHAR(20) UNIQUE NOT NULL,
    name VARCHAR(255) NOT NULL,
    instrument_type instrument_type_enum NOT NULL,
    exchange VARCHAR(20),
    currency VARCHAR(3) DEFAULT 'USD',
    sector VARCHAR(100),
    industry VARCHAR(100),
    market_cap BIGINT,
    shares_outstanding BIGINT,
    description TEXT,
    metadata JSONB DEFAULT '{}',
    is_active BOOLEAN DEFAULT TRUE,
    listed_date DATE,
    delisted_date DATE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- idx_instruments_symbol is not created: instruments_symbol_key covers it (seed-defects #36).
-- idx_instruments_symbol_exchange is not created: UNIQUE (symbol) already makes it
-- meaningless, and it contradicted option A (seed-defects #31).
CREATE INDEX idx_instruments_type ON instruments (instrument_type);
CREATE INDEX idx_instruments_exchange ON instruments (exchange);
CREATE INDEX idx_instruments_sector ON instruments (sector);

CREATE TABLE holdings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL,
    -- No FK to instruments(symbol) yet: the ERD relationship is documented, not
    -- enforced, until the instrument master is always loaded first (seed-defects #32).
    symbol VARCHAR(20) NOT NULL,
    instrument_type instrument_type_enum NOT NULL,
    quantity DECIMAL(18,8) NOT NULL,
    average_cost DECIMAL(15,4) NOT NULL,
    current_price DECIMAL(15,4),
    market_value DECIMAL(15,2),
    unrealized_pnl DECIMAL(15,2),
    cost_basis DECIMAL(15,2),
    last_updated TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    -- A closed position is DELETEd, not zeroed; negative quantities (shorts) are
    -- allowed. The seed's duplicate chk_holdings_quantity_nonzero is not created
    -- (seed-defects #24).
    CONSTRAINT chk_quantity_not_zero CHECK (quantity <> 0),
    -- One symbol per portfolio, consistent with option A (seed-defects #32).
    UNIQUE (portfolio_id, symbol),
    -- Exactly one FK on portfolio_id: the seed declared it inline and again as
    -- fk_holdings_portfolio, firing two cascades per delete (seed-defects #27).
    CONSTRAINT fk_holdings_portfolio FOREIGN KEY (portfolio_id) REFERENCES portfolios (id) ON DELETE CASCADE
);

-- idx_holdings_portfolio_id is not created: holdings_portfolio_id_symbol_key and
-- idx_holdings_portfolio_instrument both lead with portfolio_id (seed-defects #37).
CREATE INDEX idx_holdings_symbol ON holdings (symbol);
CREATE INDEX idx_holdings_instrument_type ON holdings (instrument_type);
CREATE INDEX idx_holdings_portfolio_instrument ON holdings (portfolio_id, instrument_type);
