-- Risk profiles, risk limits and performance metrics, all owned by a portfolio.
-- quantx:lint-ignore prefer-text-field,prefer-bigint-over-int varchar(n) lengths are the seed schema's; time_horizon (months) and breach_count are small counters, not keys

CREATE TABLE risk_profiles (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    risk_tolerance risk_level_enum NOT NULL,
    time_horizon INTEGER, -- months
    -- Percentage 0..100. The seed's DECIMAL(3,2) overflowed at 10 ("numeric field
    -- overflow"). NULL means "not specified" and is allowed on purpose
    -- (seed-defects #33).
    liquidity_needs DECIMAL(5,2),
    return_objective DECIMAL(5,2), -- annual percentage
    max_drawdown DECIMAL(5,2), -- maximum acceptable drawdown
    concentration_limit DECIMAL(5,2), -- maximum position size
    sector_limits JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    CONSTRAINT chk_risk_profiles_liquidity_needs CHECK (liquidity_needs BETWEEN 0 AND 100)
);

-- FK column index (seed-defects #38).
CREATE INDEX idx_risk_profiles_portfolio_id ON risk_profiles (portfolio_id);

CREATE TABLE risk_limits (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    limit_type risk_limit_type_enum NOT NULL,
    limit_scope VARCHAR(50), -- 'PORTFOLIO', 'SECTOR:TECH', 'SYMBOL:AAPL'
    threshold_value DECIMAL(15,4) NOT NULL,
    threshold_type threshold_type_enum NOT NULL,
    current_value DECIMAL(15,4),
    breach_count INTEGER DEFAULT 0,
    last_breach_at TIMESTAMP WITH TIME ZONE,
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- FK column index (seed-defects #38).
CREATE INDEX idx_risk_limits_portfolio_id ON risk_limits (portfolio_id);

CREATE TABLE performance_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id UUID NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    calculation_date DATE NOT NULL,
    total_return DECIMAL(10,4),
    annual_return DECIMAL(10,4),
    volatility DECIMAL(10,4),
    sharpe_ratio DECIMAL(10,4),
    sortino_ratio DECIMAL(10,4),
    beta DECIMAL(10,4),
    alpha DECIMAL(10,4),
    max_drawdown DECIMAL(10,4),
    var_95 DECIMAL(15,2),
    cvar_95 DECIMAL(15,2),
    benchmark_return DECIMAL(10,4),
    tracking_error DECIMAL(10,4),
    information_ratio DECIMAL(10,4),
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    UNIQUE (portfolio_id, calculation_date)
);

-- idx_performance_portfolio_date is not created: it is the same key as
-- performance_metrics_portfolio_id_calculation_date_key (seed-defects #36).
CREATE INDEX idx_performance_calculation_date ON performance_metrics (calculation_date);
