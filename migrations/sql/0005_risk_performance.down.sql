-- Reverse of 0005_risk_performance.up.sql; no CASCADE (seed-defects #15).

DROP TABLE performance_metrics;
DROP TABLE risk_limits;
DROP TABLE risk_profiles;
