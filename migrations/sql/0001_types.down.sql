-- Reverse of 0001_types.up.sql. Runs after every table using these types is gone,
-- so no CASCADE is needed (seed-defects #15).

DROP TYPE threshold_type_enum;
DROP TYPE risk_limit_type_enum;

DROP TYPE order_status_enum;
DROP TYPE tif_enum;
DROP TYPE order_side_enum;
DROP TYPE order_type_enum;

DROP TYPE transaction_type_enum;

DROP TYPE instrument_type_enum;
DROP TYPE strategy_type_enum;
DROP TYPE risk_level_enum;

DROP TYPE org_role_enum;
DROP TYPE organization_status_enum;
DROP TYPE organization_plan_enum;

DROP TYPE user_status_enum;
DROP TYPE user_role_enum;
