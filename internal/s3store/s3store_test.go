package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/internal/testenv"
)

func newStore(t *testing.T) (*s3store.Store, *testenv.S3Bucket) {
	t.Helper()
	b := testenv.S3(t)
	s, err := s3store.New(t.Context(), s3store.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket, Prefix: "/p//x/"})
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

func TestPutGetListRemove(t *testing.T) {
	t.Parallel()
	s, b := newStore(t)
	ctx := t.Context()
	data := make([]byte, s3store.PartSize+12345) // two parts
	rand.Read(data)
	res, err := s.Put(ctx, "a/big.bin", bytes.NewReader(data), map[string]string{"kind": "test"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if res.Size != int64(len(data)) || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("put result %+v, want size %d sha %x", res, len(data), sum)
	}
	// The key lands under the cleaned prefix, visible to any S3 client.
	c, _ := b.Client()
	if _, err := c.StatObject(ctx, b.Bucket, "p/x/a/big.bin", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object not at p/x/a/big.bin: %v", err)
	}
	st, err := s.Stat(ctx, "a/big.bin")
	if err != nil || st.Size != int64(len(data)) || st.Metadata["kind"] != "test" || st.Key != "a/big.bin" {
		t.Fatalf("stat %+v %v", st, err)
	}
	if _, err := s.PutBytes(ctx, "a/small.json", []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	l, err := s.List(ctx, "a/")
	if err != nil || len(l) != 2 || l[0].Key != "a/big.bin" || l[1].Key != "a/small.json" {
		t.Fatalf("list %+v %v", l, err)
	}
	r, err := s.Get(ctx, "a/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %d bytes, err %v", len(got), err)
	}
	if _, err := s.Get(ctx, "a/missing"); !errors.Is(err, s3store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "a/missing"); !errors.Is(err, s3store.ErrNotFound) {
		t.Fatalf("stat missing: %v, want ErrNotFound", err)
	}
	if err := s.Remove(ctx, "a/big.bin", "a/small.json", "a/never-existed"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.List(ctx, ""); len(l) != 0 {
		t.Fatalf("after remove: %+v", l)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("source broke")
	}
	n := min(len(p), f.after)
	f.after -= n
	return n, nil
}

func TestPutAbortsOnError(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "x/broken", &failingReader{after: s3store.PartSize + 10}, nil)
	if err == nil {
		t.Fatal("put of a failing reader succeeded")
	}
	ups, err := s.ListIncompleteUploads(ctx, "")
	if err != nil || len(ups) != 0 {
		t.Fatalf("incomplete uploads left: %+v %v", ups, err)
	}
	if l, _ := s.List(ctx, ""); len(l) != 0 {
		t.Fatalf("object created from a failed stream: %+v", l)
	}

	// Cancel mid-stream: the object must not be completed.
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, s3store.PartSize+1))
		cancel()
		pw.Write(make([]byte, 100))
		pw.Close()
	}()
	if _, err := s.Put(cctx, "x/cancelled", pr, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v, want context.Canceled", err)
	}
	if l, _ := s.List(ctx, ""); len(l) != 0 {
		t.Fatalf("object created from a cancelled stream: %+v", l)
	}
}

func TestAbortIncomplete(t *testing.T) {
	t.Parallel()
	s, b := newStore(t)
	ctx := t.Context()
	c, _ := b.Client()
	core := minio.Core{Client: c}
	// What a killed process leaves: an initiated upload with one part.
	id, err := core.NewMultipartUpload(ctx, b.Bucket, "p/x/orphan/obj", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, b.Bucket, "p/x/orphan/obj", id, 1, bytes.NewReader([]byte("hello")), 5, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	ups, err := s.ListIncompleteUploads(ctx, "orphan/")
	if err != nil || len(ups) != 1 || ups[0].Key != "orphan/obj" || ups[0].UploadID != id {
		t.Fatalf("list incomplete: %+v %v", ups, err)
	}
	// An upload active after the cut-off is left alone (a concurrent backup).
	done, err := s.AbortIncompleteBefore(ctx, "", time.Now().Add(-time.Hour))
	if err != nil || len(done) != 0 {
		t.Fatalf("abort before an earlier time: %+v %v", done, err)
	}
	done, err = s.AbortIncompleteBefore(ctx, "", time.Now().Add(time.Minute))
	if err != nil || len(done) != 1 {
		t.Fatalf("abort: %+v %v", done, err)
	}
	if ups, _ := s.ListIncompleteUploads(ctx, ""); len(ups) != 0 {
		t.Fatalf("still incomplete: %+v", ups)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	b := testenv.S3(t)
	good := s3store.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket}
	tests := []struct {
		name string
		edit func(*s3store.Config)
		want error
	}{
		{"missing bucket", func(c *s3store.Config) { c.Bucket = b.Bucket + "-missing" }, s3store.ErrBucketNotFound},
		{"wrong secret", func(c *s3store.Config) { c.SecretKey = "wrong-secret" }, s3store.ErrBadCredentials},
		{"unknown access key", func(c *s3store.Config) { c.AccessKey = "nobody" }, s3store.ErrBadCredentials},
		{"scheme in endpoint", func(c *s3store.Config) { c.Endpoint = "http://" + c.Endpoint }, s3store.ErrConfig},
		{"no bucket", func(c *s3store.Config) { c.Bucket = "" }, s3store.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := s3store.New(context.Background(), cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
		})
	}
}

// abandon starts a multipart upload of key (full key in the bucket), stores one part and walks away,
// as a killed process does.
func abandon(t *testing.T, b *testenv.S3Bucket, key string) string {
	t.Helper()
	c, _ := b.Client()
	core := minio.Core{Client: c}
	id, err := core.NewMultipartUpload(t.Context(), b.Bucket, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(t.Context(), b.Bucket, key, id, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAbortStaleSweepsEachPrefix(t *testing.T) {
	t.Parallel()
	s, b := newStore(t)
	ctx := t.Context()
	abandon(t, b, "p/x/backups/20260101T000000Z-postgres-db-abcdef/db.pgdump")
	abandon(t, b, "p/x/archive/postgres/db/activity_logs/activity_logs_y2024m01.csv.gz")
	abandon(t, b, "p/x/elsewhere/not-ours")
	// Just made: not idle for 15 minutes, so a concurrent run's upload is left alone.
	done, err := s.AbortStale(ctx, 0, "backups/", "archive/")
	if err != nil || len(done) != 0 {
		t.Fatalf("default idle time aborted %+v (%v)", done, err)
	}
	done, err = s.AbortStale(ctx, -1, "backups/", "archive/")
	if err != nil || len(done) != 2 {
		t.Fatalf("aborted %+v (%v), want the two under backups/ and archive/", done, err)
	}
	ups, err := s.ListIncompleteUploads(ctx, "")
	if err != nil || len(ups) != 1 || ups[0].Key != "elsewhere/not-ours" {
		t.Fatalf("left: %+v %v; want only the upload outside the swept prefixes", ups, err)
	}
}
