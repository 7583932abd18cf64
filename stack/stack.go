// Package stack composes the store packages into what no single one does:
// one provisioning plan, one status report and one health check across
// PostgreSQL, InfluxDB, search and S3. It adds no store logic of its own; each
// store's package stays the authority on its store.
//
// It returns facts. A plan is a list of typed Steps; status and doctor share
// one Report shape, whose Items carry a state of the shared vocabulary
// (internal/report), the numbers behind the detail, the failure behind an
// error line (Err, a *StoreError) and a typed finding behind a line that
// asks for something (NotConfigured, DefaultRows, InfluxStale, Tool, ...).
// The caller writes the advice from those: in quantx-db, cmd/quantx-db/hints.go
// names the command that clears each finding. No flag, command line or hint
// is written here.
package stack
