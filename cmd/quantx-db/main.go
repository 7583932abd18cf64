// Command quantx-db provisions and evolves the data stores of the QuantX
// trading platform: PostgreSQL migrations and partitions, retention, InfluxDB,
// Elasticsearch/OpenSearch and backups to S3. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/quantx/quantx-db/internal/output"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], output.System(), os.Getenv)
	stop()
	os.Exit(code) // the only os.Exit in the program
}
