// Package stack composes the store packages into what no single one does:
// one provisioning plan, one status report and one health check across
// PostgreSQL, InfluxDB, search and S3. It adds no store logic of its own; each
// store's package stays the authority on its store.
package stack
