-- A small, realistic set of valid rows for the constraint tests. Applies cleanly
-- after all up migrations; cases.json assumes it is loaded and uses these UUIDs.
-- No BEGIN/COMMIT: the caller decides the transaction.
--
-- Fixed UUIDs:
--   users          11111111-…-111111111111 alice (owns portfolios)
--                  22222222-…-222222222222 bob (only activity logs)
--   organization   33333333-…-333333333333 acme
--   membership     44444444-…-444444444444
--   portfolios     55555555-…-555555555555 (acme, cash + AAPL holding)
--                  55555555-…-555555555556 (no organization, empty)
--   instruments    66666666-…-666666666601 AAPL, …602 MSFT
--   orders         77777777-…-777777777701 LIMIT BUY, partially filled
--                  77777777-…-777777777702 MARKET SELL, filled in 2024
--   transactions   88888888-…-888888888801..805
--   holding        99999999-…-999999999901
--   activity logs  aaaaaaaa-…-aaaaaaaaaa01..03
--   API key        bbbbbbbb-…-bbbbbbbbbb01
--   risk profile   cccccccc-…-cccccccccc01
--   risk limit     dddddddd-…-dddddddddd01
--   perf. metric   eeeeeeee-…-eeeeeeeeee01

INSERT INTO users (id, email, password_hash, first_name, last_name, role, status, email_verified)
VALUES
    ('11111111-1111-4111-8111-111111111111', 'alice@quantx.example', 'argon2id:v19:m65536:t3:p4:c2FsdA:aGFzaA', 'Alice', 'Archer', 'TRADER', 'ACTIVE', TRUE),
    ('22222222-2222-4222-8222-222222222222', 'bob@quantx.example', 'argon2id:v19:m65536:t3:p4:c2FsdA:aGFzaA', 'Bob', 'Baker', 'ANALYST', 'ACTIVE', FALSE);

INSERT INTO organizations (id, name, slug, plan, status, website)
VALUES ('33333333-3333-4333-8333-333333333333', 'Acme Capital', 'acme', 'PRO', 'ACTIVE', 'https://acme.example');

INSERT INTO user_organizations (id, user_id, organization_id, role, permissions)
VALUES ('44444444-4444-4444-8444-444444444444', '11111111-1111-4111-8111-111111111111',
        '33333333-3333-4333-8333-333333333333', 'OWNER', '{trade,admin}');

-- current_value = holdings market value 1995.00 + cash 8000.00, so
-- validate_portfolio_allocation() is true for this portfolio.
INSERT INTO portfolios (id, user_id, organization_id, name, currency, risk_level, strategy_type,
                        benchmark_symbol, initial_balance, current_value, unrealized_pnl, cash_balance)
VALUES
    ('55555555-5555-4555-8555-555555555555', '11111111-1111-4111-8111-111111111111',
     '33333333-3333-4333-8333-333333333333', 'Acme Growth', 'USD', 'MODERATE', 'GROWTH',
     'SPY', 10000.00, 9995.00, 525.00, 8000.00),
    ('55555555-5555-4555-8555-555555555556', '11111111-1111-4111-8111-111111111111',
     NULL, 'Alice Personal', 'USD', 'CONSERVATIVE', NULL,
     NULL, 0, 0, 0, 0);

INSERT INTO instruments (id, symbol, name, instrument_type, exchange, currency, sector, industry, listed_date)
VALUES
    ('66666666-6666-4666-8666-666666666601', 'AAPL', 'Apple Inc.', 'STOCK', 'NASDAQ', 'USD', 'Technology', 'Consumer Electronics', '1980-12-12'),
    ('66666666-6666-4666-8666-666666666602', 'MSFT', 'Microsoft Corporation', 'STOCK', 'NASDAQ', 'USD', 'Technology', 'Software', '1986-03-13');

INSERT INTO orders (id, portfolio_id, user_id, symbol, order_type, side, quantity, price, time_in_force,
                    status, filled_quantity, average_fill_price, broker, broker_order_id, fees,
                    placed_at, filled_at, created_at)
VALUES
    -- LIMIT BUY 10 @ 125.00, 0.5 filled so far.
    ('77777777-7777-4777-8777-777777777701', '55555555-5555-4555-8555-555555555555',
     '11111111-1111-4111-8111-111111111111', 'AAPL', 'LIMIT', 'BUY', 10, 125.0000, 'GTC',
     'PARTIAL_FILL', 0.5, 123.4567, 'ibkr', 'IB-000101', 1.00,
     '2026-11-02 14:30:00+00', NULL, '2026-11-02 14:30:00+00'),
    -- MARKET SELL 10, fully filled in 2024: a candidate for the retention job.
    ('77777777-7777-4777-8777-777777777702', '55555555-5555-4555-8555-555555555555',
     '11111111-1111-4111-8111-111111111111', 'AAPL', 'MARKET', 'SELL', 10, NULL, 'DAY',
     'FILLED', 10, 150.1200, 'ibkr', 'IB-000042', 4.95,
     '2024-06-03 14:30:00+00', '2024-06-03 14:30:02+00', '2024-06-03 14:30:00+00');

INSERT INTO transactions (id, portfolio_id, order_id, symbol, transaction_type, quantity, price, fees,
                          total_amount, currency, executed_at, settlement_date, notes)
VALUES
    -- Cash deposit: no symbol, quantity or price.
    ('88888888-8888-4888-8888-888888888801', '55555555-5555-4555-8555-555555555555', NULL,
     NULL, 'DEPOSIT', NULL, NULL, 0, 10000.00, 'USD', '2024-01-02 15:00:00+00', '2024-01-02', 'initial funding'),
    -- SELL 10 @ 150.12 with 4.95 fees: net proceeds 1501.20 - 4.95 = 1496.25.
    ('88888888-8888-4888-8888-888888888802', '55555555-5555-4555-8555-555555555555',
     '77777777-7777-4777-8777-777777777702', 'AAPL', 'SELL', 10, 150.1200, 4.95, 1496.25, 'USD',
     '2024-06-03 14:30:02+00', '2024-06-05', NULL),
    -- BUY 0.5 @ 123.4567 + 1.00 fees: ROUND(61.72835, 2) + 1.00 = 62.73.
    ('88888888-8888-4888-8888-888888888803', '55555555-5555-4555-8555-555555555555',
     '77777777-7777-4777-8777-777777777701', 'AAPL', 'BUY', 0.5, 123.4567, 1.00, 62.73, 'USD',
     '2026-11-02 15:01:00+00', '2026-11-04', 'partial fill'),
    -- Dividend: symbol and a positive amount, no quantity or price needed.
    ('88888888-8888-4888-8888-888888888804', '55555555-5555-4555-8555-555555555555', NULL,
     'AAPL', 'DIVIDEND', NULL, NULL, 0, 2.40, 'USD', '2026-11-13 12:00:00+00', '2026-11-13', 'quarterly dividend'),
    -- Cash withdrawal.
    ('88888888-8888-4888-8888-888888888805', '55555555-5555-4555-8555-555555555555', NULL,
     NULL, 'WITHDRAWAL', NULL, NULL, 0, 500.00, 'USD', '2026-11-20 09:00:00+00', '2026-11-20', NULL);

INSERT INTO holdings (id, portfolio_id, symbol, instrument_type, quantity, average_cost, current_price,
                      market_value, unrealized_pnl, cost_basis)
VALUES ('99999999-9999-4999-8999-999999999901', '55555555-5555-4555-8555-555555555555', 'AAPL', 'STOCK',
        10.5, 140.0000, 190.0000, 1995.00, 525.00, 1470.00);

INSERT INTO activity_logs (id, user_id, organization_id, action, resource_type, resource_id, ip_address,
                           user_agent, request_id, details, created_at)
VALUES
    -- Now: lands in the current month's partition.
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaa01', '11111111-1111-4111-8111-111111111111',
     '33333333-3333-4333-8333-333333333333', 'order.placed', 'order', '77777777-7777-4777-8777-777777777701',
     '203.0.113.7', 'quantx-web/1.0', 'req-0001', '{"symbol": "AAPL"}', now()),
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaa02', '22222222-2222-4222-8222-222222222222', NULL,
     'user.login', 'user', '22222222-2222-4222-8222-222222222222',
     '2001:db8::1', 'quantx-cli/0.1', 'req-0002', '{}', now()),
    -- More than 2 years ahead: no monthly partition exists, so it goes to DEFAULT.
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaa03', '22222222-2222-4222-8222-222222222222', NULL,
     'report.scheduled', 'report', 'r-42', NULL, NULL, 'req-0003', '{}', now() + interval '2 years 2 months');

INSERT INTO api_keys (id, user_id, organization_id, name, key_hash, prefix, permissions, expires_at)
VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbb01', '11111111-1111-4111-8111-111111111111',
        '33333333-3333-4333-8333-333333333333', 'trading bot',
        'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'qx_live_9f86',
        '{orders:write,portfolios:read}', '2027-11-26 00:00:00+00');

-- liquidity_needs 15.00 (%) overflowed the seed's DECIMAL(3,2).
INSERT INTO risk_profiles (id, portfolio_id, risk_tolerance, time_horizon, liquidity_needs, return_objective,
                           max_drawdown, concentration_limit, sector_limits)
VALUES ('cccccccc-cccc-4ccc-8ccc-cccccccccc01', '55555555-5555-4555-8555-555555555555', 'MODERATE', 60,
        15.00, 8.50, 20.00, 25.00, '{"Technology": 40}');

INSERT INTO risk_limits (id, portfolio_id, limit_type, limit_scope, threshold_value, threshold_type, current_value)
VALUES ('dddddddd-dddd-4ddd-8ddd-dddddddddd01', '55555555-5555-4555-8555-555555555555', 'CONCENTRATION',
        'SYMBOL:AAPL', 25.0000, 'PERCENTAGE', 19.9600);

INSERT INTO performance_metrics (id, portfolio_id, calculation_date, total_return, annual_return, volatility,
                                 sharpe_ratio, sortino_ratio, beta, alpha, max_drawdown, var_95, cvar_95,
                                 benchmark_return, tracking_error, information_ratio)
VALUES ('eeeeeeee-eeee-4eee-8eee-eeeeeeeeee01', '55555555-5555-4555-8555-555555555555', '2026-10-30',
        -0.0005, 0.0712, 0.1843, 0.3861, 0.5120, 1.0500, 0.0040, 0.0910, 412.50, 598.10,
        0.0650, 0.0410, 0.1500);
