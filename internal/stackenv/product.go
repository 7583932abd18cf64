package stackenv

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Database is the PostgreSQL database a test stack's QuantX schema lives in.
const Database = "quantx"

// ProductEnv maps the servers' QUANTX_TEST_* settings to the QUANTX_*
// connection settings quantx-db itself reads, pointing at Database.
func ProductEnv(test map[string]string) (map[string]string, error) {
	out := map[string]string{}
	if admin := test["QUANTX_TEST_DATABASE_URL"]; admin != "" {
		u, err := url.Parse(admin)
		if err != nil {
			return nil, fmt.Errorf("QUANTX_TEST_DATABASE_URL is not a URL")
		}
		u.Path = "/" + Database
		out["QUANTX_DATABASE_URL"] = u.String()
	}
	copyIf := func(to, from string) {
		if v := test[from]; v != "" {
			out[to] = v
		}
	}
	copyIf("QUANTX_INFLUX_URL", "QUANTX_TEST_INFLUX_URL")
	copyIf("QUANTX_INFLUX_TOKEN", "QUANTX_TEST_INFLUX_TOKEN")
	copyIf("QUANTX_INFLUX_RPC", "QUANTX_TEST_INFLUX_RPC")
	copyIf("QUANTX_ELASTIC_URL", "QUANTX_TEST_ELASTICSEARCH_URL")
	copyIf("QUANTX_ELASTIC_URL", "QUANTX_TEST_OPENSEARCH_URL") // OpenSearch wins when both run: it has ISM
	copyIf("QUANTX_S3_ENDPOINT", "QUANTX_TEST_S3_ENDPOINT")
	copyIf("QUANTX_S3_ACCESS_KEY", "QUANTX_TEST_S3_ACCESS_KEY")
	copyIf("QUANTX_S3_SECRET_KEY", "QUANTX_TEST_S3_SECRET_KEY")
	copyIf("QUANTX_S3_BUCKET", "QUANTX_TEST_S3_BUCKET")
	return out, nil
}

// CreateDatabase creates Database on the server at adminURL unless it exists.
func CreateDatabase(ctx context.Context, adminURL string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the test PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, Database).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{Database}.Sanitize())
	return err
}
