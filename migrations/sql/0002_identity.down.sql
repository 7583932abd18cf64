-- Reverse of 0002_identity.up.sql: children first, no CASCADE (seed-defects #15).
-- Dropping a table drops its indexes and constraints.

DROP TABLE api_keys;
DROP TABLE user_organizations;
DROP TABLE organizations;
DROP TABLE users;
