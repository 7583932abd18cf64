-- Reverse of 0007_functions.up.sql.

DROP FUNCTION validate_portfolio_allocation(UUID);
