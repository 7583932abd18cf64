-- Data validation functions.

-- validate_portfolio_allocation reports whether the holdings' market value plus
-- cash add up to the portfolio's current_value (100 % +/- 0.1). Corrections to the
-- seed (seed-defects #11):
--  * the seed read a non-existent column portfolio_value; it is current_value;
--  * cash is included, since current_value includes it, so a portfolio with cash
--    can reach 100 %;
--  * unconstrained NUMERIC, not DECIMAL(5,2), which overflowed at >= 1000 %;
--  * STABLE (reads tables, writes nothing) and COALESCE(..., FALSE): an unknown
--    portfolio or current_value <= 0 gives false, not NULL.
-- LANGUAGE sql rather than plpgsql: the body is parsed and its tables and columns
-- are resolved at CREATE time, so a wrong column name fails the migration instead
-- of the first call.
CREATE FUNCTION validate_portfolio_allocation(p_portfolio_id UUID)
RETURNS BOOLEAN
LANGUAGE sql
STABLE
AS $$
    SELECT COALESCE((
        SELECT (COALESCE((SELECT SUM(h.market_value)
                          FROM holdings h
                          WHERE h.portfolio_id = p.id), 0)
                + p.cash_balance)::NUMERIC
               / p.current_value * 100
               BETWEEN 99.9 AND 100.1
        FROM portfolios p
        WHERE p.id = p_portfolio_id
          AND p.current_value > 0
    ), FALSE);
$$;
