package testenv

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"strings"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// TestClusterKillAndRestart: a private cluster keeps committed rows across kill -9 and a restart.
func TestClusterKillAndRestart(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Durable: true})
	db := c.Database(t)
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)")
	c.Kill(t)
	if _, err := pgx.Connect(t.Context(), db.URL); err == nil {
		t.Fatal("the cluster still answers after Kill")
	}
	c.Start(t)
	c.Restart(t)
	conn, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 100 {
		t.Fatalf("after kill -9 and restart: %d rows, %v; want 100", n, err)
	}
}

// TestS3ServerKillAndStart: objects written before a kill are there after the restart.
func TestS3ServerKillAndStart(t *testing.T) {
	s := NewS3Server(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(t.Context(), s.Bucket, "a", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Kill(t)
	if _, err := client.StatObject(t.Context(), s.Bucket, "a", minio.StatObjectOptions{}); err == nil {
		t.Fatal("the server still answers after Kill")
	}
	s.Start(t)
	if _, err := client.StatObject(t.Context(), s.Bucket, "a", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object lost across kill and start: %v", err)
	}
}

// TestClusterStandby: a standby of a private cluster is read-only and has the primary's rows.
func TestClusterStandby(t *testing.T) {
	c := NewCluster(t, ClusterOptions{})
	db := c.Database(t)
	if err := pgExec(db.URL, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)"); err != nil {
		t.Fatal(err)
	}
	s := c.Standby(t)
	var n int
	if err := pgQueryRow(s.DatabaseURL(db.Name), "SELECT count(*) FROM t", &n); err != nil || n != 10 {
		t.Fatalf("standby: %d rows, %v; want 10", n, err)
	}
	if err := pgExec(s.DatabaseURL(db.Name), "INSERT INTO t VALUES (11)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write on the standby: %v; want a read-only error", err)
	}
}

// TestS3ServerTLS: the private TLS server answers a client that trusts its CA file, and a client that
// does not trust it is refused (so a test cannot pass over plain HTTP by accident).
func TestS3ServerTLS(t *testing.T) {
	s := NewS3ServerTLS(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(t.Context(), s.Bucket, "a", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	untrusted := *s
	untrusted.CAFile = ""
	plain, err := untrusted.S3Bucket.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.StatObject(t.Context(), s.Bucket, "a", minio.StatObjectOptions{}); err == nil {
		t.Fatal("plain HTTP reached the TLS server")
	}
	s.Kill(t)
	s.Start(t)
	if _, err := client.StatObject(t.Context(), s.Bucket, "a", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object lost across kill and start: %v", err)
	}
}

// TestNewInflux: a private InfluxDB 1.8 answers with its admin user only, and takes writes.
func TestNewInflux(t *testing.T) {
	db := NewInflux(t)
	if err := db.Query(t.Context(), `CREATE DATABASE "`+db.Database+`"`); err != nil {
		t.Fatal(err)
	}
	if err := db.Client.Write(t.Context(), db.Database+"/autogen", "", []byte("ticks price=1 1")); err != nil {
		t.Fatal(err)
	}
	anon, err := influxclient.New(influxclient.Options{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Query(t.Context(), influxclient.Query{Statement: "SHOW DATABASES"}); !errors.Is(err, influxclient.ErrUnauthorized) {
		t.Fatalf("without credentials: %v, want ErrUnauthorized", err)
	}
	if _, err := net.Dial("tcp", db.RPC); err != nil {
		t.Fatalf("backup/restore address: %v", err)
	}
}

// TestNewInflux2: a private InfluxDB 2.x is set up with the returned token, and refuses others.
func TestNewInflux2(t *testing.T) {
	s := NewInflux2(t)
	if err := s.Client.Write(t.Context(), "quantx-test", s.Org, []byte("ticks price=1 1")); err != nil {
		t.Fatal(err)
	}
	other, err := influxclient.New(influxclient.Options{URL: s.URL, Token: "not-the-token"})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Write(t.Context(), "quantx-test", s.Org, []byte("ticks price=1 1")); !errors.Is(err, influxclient.ErrUnauthorized) {
		t.Fatalf("another token: %v, want ErrUnauthorized", err)
	}
}
