-- expect-lint: ban-cluster
-- expect-pg: rewrite accounts
-- expect-pg: lock accounts AccessExclusiveLock
CLUSTER accounts USING accounts_pkey;
