-- Conventions for every file in this directory: real DDL only, no placeholders and
-- no CREATE TABLE IF NOT EXISTS (seed-defects #12, #15); no BEGIN/COMMIT, the tool
-- wraps each file in its own transaction (seed-defects #16); no writes to
-- schema_migrations, which the tool owns (seed-defects #14).
--
-- All enum types, created before any table that uses them (seed-defects #1).
-- Later value additions (ALTER TYPE ... ADD VALUE) belong in their own migration,
-- applied before the migration that first uses the new value (seed-defects #17).

CREATE TYPE user_role_enum AS ENUM ('ADMIN', 'TRADER', 'ANALYST', 'USER');
CREATE TYPE user_status_enum AS ENUM ('ACTIVE', 'SUSPENDED', 'PENDING', 'DEACTIVATED');

CREATE TYPE organization_plan_enum AS ENUM ('FREE', 'PRO', 'ENTERPRISE');
CREATE TYPE organization_status_enum AS ENUM ('ACTIVE', 'SUSPENDED', 'TRIAL');
CREATE TYPE org_role_enum AS ENUM ('OWNER', 'ADMIN', 'MANAGER', 'MEMBER');

CREATE TYPE risk_level_enum AS ENUM ('CONSERVATIVE', 'MODERATE', 'AGGRESSIVE', 'SPECULATIVE');
CREATE TYPE strategy_type_enum AS ENUM ('BUY_HOLD', 'VALUE', 'GROWTH', 'MOMENTUM', 'ARBITRAGE', 'CUSTOM');
CREATE TYPE instrument_type_enum AS ENUM ('STOCK', 'BOND', 'ETF', 'OPTION', 'FUTURE', 'FOREX', 'CRYPTO', 'COMMODITY');

CREATE TYPE transaction_type_enum AS ENUM ('BUY', 'SELL', 'DIVIDEND', 'SPLIT', 'MERGER', 'SPINOFF', 'DEPOSIT', 'WITHDRAWAL');

CREATE TYPE order_type_enum AS ENUM ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP');
CREATE TYPE order_side_enum AS ENUM ('BUY', 'SELL');
CREATE TYPE tif_enum AS ENUM ('DAY', 'GTC', 'IOC', 'FOK');
CREATE TYPE order_status_enum AS ENUM ('PENDING', 'SUBMITTED', 'PARTIAL_FILL', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED');

CREATE TYPE risk_limit_type_enum AS ENUM ('VAR', 'CONCENTRATION', 'SECTOR_EXPOSURE', 'LEVERAGE', 'VOLATILITY', 'DRAWDOWN');
CREATE TYPE threshold_type_enum AS ENUM ('ABSOLUTE', 'PERCENTAGE', 'RATIO');
