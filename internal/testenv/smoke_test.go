package testenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/quantx/quantx-db/internal/testenv"
)

// Each smoke test talks to one server through the Go client that the product uses.

func TestPostgresSmoke(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	var version, current string
	if err := conn.QueryRow(ctx, "SELECT version(), current_database()").Scan(&version, &current); err != nil {
		t.Fatal(err)
	}
	t.Logf("server: %s", version)
	if current != db.Name {
		t.Fatalf("connected to database %q, want %q", current, db.Name)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE quotes (symbol text PRIMARY KEY, price numeric NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO quotes VALUES ($1, $2)", "BTC", "97000.5"); err != nil {
		t.Fatal(err)
	}
	var price string
	if err := conn.QueryRow(ctx, "SELECT price::text FROM quotes WHERE symbol = 'BTC'").Scan(&price); err != nil {
		t.Fatal(err)
	}
	if price != "97000.5" {
		t.Fatalf("price = %q, want 97000.5", price)
	}
}

func TestPostgresDatabasesAreDistinct(t *testing.T) {
	t.Parallel()
	a, b := testenv.Postgres(t), testenv.Postgres(t)
	if a.Name == b.Name || len(a.Name) > 63 {
		t.Fatalf("names %q and %q: want two distinct names of at most 63 bytes", a.Name, b.Name)
	}
}

func TestInfluxSmoke(t *testing.T) {
	t.Parallel()
	in := testenv.Influx(t)
	ctx := t.Context()
	client := influxdb2.NewClient(in.URL, in.Token)
	defer client.Close()

	if ok, err := client.Ping(ctx); !ok || err != nil {
		t.Fatalf("ping: %v, %v", ok, err)
	}
	health, err := client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if health.Version != nil {
		t.Logf("server: InfluxDB %s", *health.Version)
	}

	// InfluxDB 1.8 has no buckets API: databases are made with InfluxQL.
	if err := in.Query(ctx, `CREATE DATABASE "`+in.Database+`"`); err != nil {
		t.Fatal(err)
	}
	writeReadBack(t, client, "", in.Database+"/autogen")
}

// writeReadBack writes one point into bucket and reads it back with Flux: the
// same client calls work on 1.8 (bucket "db/rp", no org) and on 2.x.
func writeReadBack(t *testing.T, client influxdb2.Client, org, bucket string) {
	t.Helper()
	at := time.Now().Truncate(time.Second)
	p := influxdb2.NewPoint("quotes", map[string]string{"symbol": "BTC"}, map[string]any{"price": 97000.5}, at)
	if err := client.WriteAPIBlocking(org, bucket).WritePoint(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	flux := fmt.Sprintf(`from(bucket: %q) |> range(start: -1h) |> filter(fn: (r) => r._measurement == "quotes")`, bucket)
	res, err := client.QueryAPI(org).Query(t.Context(), flux)
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for res.Next() {
		got = append(got, res.Record().Value())
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != 97000.5 {
		t.Fatalf("read back %v, want [97000.5]", got)
	}
}

func TestInflux2Smoke(t *testing.T) {
	t.Parallel()
	in := testenv.Influx2(t)
	ctx := t.Context()
	client := influxdb2.NewClient(in.URL, in.Token)
	defer client.Close()

	health, err := client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Built as InfluxData builds its releases, the server reports "v2.7.12", with the "v".
	if health.Version == nil || !strings.HasPrefix(*health.Version, "v2.") {
		t.Fatalf("health: %+v, want a 2.x server reporting its version as the releases do (v2.x.y)", health)
	}
	t.Logf("server: InfluxDB %s", *health.Version)

	org, err := client.OrganizationsAPI().FindOrganizationByName(ctx, in.Org)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := client.BucketsAPI().CreateBucketWithName(ctx, org, in.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := client.BucketsAPI().DeleteBucket(context.Background(), bucket); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}()
	writeReadBack(t, client, in.Org, in.Database)
}

func TestS3Smoke(t *testing.T) {
	t.Parallel()
	s3Smoke(t, testenv.S3(t))
}

// TestS3TLSSmoke: the same round trip against the S3 server that speaks TLS, trusting its CA file.
func TestS3TLSSmoke(t *testing.T) {
	t.Parallel()
	s3Smoke(t, testenv.S3TLS(t))
}

func s3Smoke(t *testing.T, b *testenv.S3Bucket) {
	ctx := t.Context()
	client, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("hello quantx")
	_, err = client.PutObject(ctx, b.Bucket, "dir/hello.txt", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "text/plain", PartSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := client.GetObject(ctx, b.Bucket, "dir/hello.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("got %q, want %q", got, body)
	}
	var keys []string
	for o := range client.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "dir/hello.txt" {
		t.Fatalf("listed %v, want [dir/hello.txt]", keys)
	}
	// An unfinished multipart upload must not stop the cleanup from removing the bucket.
	core := minio.Core{Client: client}
	if _, err := core.NewMultipartUpload(ctx, b.Bucket, "unfinished.bin", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("server: S3 at %s, bucket %s", b.Endpoint, b.Bucket)
}

func TestOpenSearchSmoke(t *testing.T) {
	t.Parallel()
	s := testenv.Search(t, "opensearch")
	ctx := t.Context()
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{s.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.Info(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server: %s %s", info.Version.Distribution, info.Version.Number)

	index := s.Prefix + "quotes"
	_, err = client.Index(ctx, opensearchapi.IndexReq{
		Index: index, DocumentID: "1",
		Body:   strings.NewReader(`{"symbol":"BTC","name":"Bitcoin Futures"}`),
		Params: opensearchapi.IndexParams{Refresh: "true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Search(ctx, &opensearchapi.SearchReq{
		Indices: []string{index},
		Body:    strings.NewReader(`{"query":{"match":{"name":"bitcoin"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Hits.Total.Value != 1 {
		t.Fatalf("hits = %d, want 1", resp.Hits.Total.Value)
	}
}

func TestElasticsearchSmoke(t *testing.T) {
	t.Parallel()
	s := testenv.Search(t, "elasticsearch")
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{s.URL}})
	if err != nil {
		t.Fatal(err)
	}
	// The integ-test distribution has no GET / (so no es.Info): the nodes info API has the version.
	// Every response carries X-Elastic-Product, which the client's product check needs.
	var nodes struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	decode(t, "nodes info", func() (*esapi.Response, error) {
		return es.Nodes.Info(es.Nodes.Info.WithNodeID("_local"), es.Nodes.Info.WithContext(t.Context()))
	}, &nodes)
	for _, n := range nodes.Nodes {
		t.Logf("server: Elasticsearch %s", n.Version)
	}

	index := s.Prefix + "quotes"
	decode(t, "index", func() (*esapi.Response, error) {
		return es.Index(index, strings.NewReader(`{"symbol":"BTC","name":"Bitcoin Futures"}`),
			es.Index.WithDocumentID("1"), es.Index.WithRefresh("true"), es.Index.WithContext(t.Context()))
	}, nil)
	var found struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	decode(t, "search", func() (*esapi.Response, error) {
		return es.Search(es.Search.WithIndex(index), es.Search.WithContext(t.Context()),
			es.Search.WithBody(strings.NewReader(`{"query":{"match":{"name":"bitcoin"}}}`)))
	}, &found)
	if found.Hits.Total.Value != 1 {
		t.Fatalf("hits = %d, want 1", found.Hits.Total.Value)
	}
}

// decode runs call, fails the test on an error or an error status, and decodes the body into v (if set).
func decode(t *testing.T, what string, call func() (*esapi.Response, error), v any) {
	t.Helper()
	r, err := call()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.StatusCode >= 300 {
		t.Fatalf("%s: HTTP %d: %s", what, r.StatusCode, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}
