package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Bucket is a fresh bucket on the S3 test server, owned by one test. It is emptied (every object
// version and incomplete upload) and removed when the test ends, unless the test failed.
type S3Bucket struct {
	// Endpoint is host:port, without a scheme; the server speaks plain HTTP unless CAFile is set.
	Endpoint  string
	AccessKey string
	SecretKey string
	// Bucket is the bucket's name: lowercase letters, digits and hyphens.
	Bucket string
	// CAFile is the PEM certificate that the server's TLS certificate chains to (S3TLS and
	// NewS3ServerTLS); empty for a plain HTTP server. It is readable by every user, because
	// pgBackRest reads it as the data directory's owner.
	CAFile string
}

// S3 creates a fresh bucket for t.
func S3(t testing.TB) *S3Bucket {
	t.Helper()
	v := require(t, "s3", "QUANTX_TEST_S3_ENDPOINT", "QUANTX_TEST_S3_ACCESS_KEY", "QUANTX_TEST_S3_SECRET_KEY")
	b := &S3Bucket{Endpoint: v[0], AccessKey: v[1], SecretKey: v[2], Bucket: uniqueName(t, "t-", "-", 63)}
	b.create(t, "s3")
	return b
}

// S3TLS creates a fresh bucket for t on the S3 test server that speaks TLS (scripts/services up s3tls),
// with the CA file that its self-signed certificate chains to.
func S3TLS(t testing.TB) *S3Bucket {
	t.Helper()
	v := require(t, "s3tls", "QUANTX_TEST_S3_TLS_ENDPOINT", "QUANTX_TEST_S3_CA_FILE",
		"QUANTX_TEST_S3_TLS_ACCESS_KEY", "QUANTX_TEST_S3_TLS_SECRET_KEY")
	b := &S3Bucket{Endpoint: v[0], CAFile: v[1], AccessKey: v[2], SecretKey: v[3], Bucket: uniqueName(t, "t-", "-", 63)}
	b.create(t, "s3tls")
	return b
}

// create makes the bucket (after checking that the server answers) and removes it when t ends.
func (b *S3Bucket) create(t testing.TB, service string) {
	t.Helper()
	client, err := b.Client()
	if err != nil {
		t.Fatalf("testenv: S3 client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	_, err = client.ListBuckets(ctx)
	cancel()
	if err != nil {
		unavailable(t, service, fmt.Errorf("listing buckets on %s: %w", b.Endpoint, err))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.MakeBucket(ctx, b.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("testenv: creating bucket %s: %v", b.Bucket, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: kept bucket %s of the failed test on %s", b.Bucket, b.Endpoint)
			return
		}
		if err := removeBucket(client, b.Bucket); err != nil {
			t.Errorf("testenv: removing bucket %s: %v", b.Bucket, err)
		}
	})
}

// Client returns a minio-go client for the server (path-style requests; TLS trusting CAFile when it
// is set, plain HTTP otherwise).
func (b *S3Bucket) Client() (*minio.Client, error) {
	opts := &minio.Options{
		Creds:        credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	}
	if b.CAFile != "" {
		tr, err := caTransport(b.CAFile)
		if err != nil {
			return nil, err
		}
		opts.Secure, opts.Transport = true, tr
	}
	return minio.New(b.Endpoint, opts)
}

// caTransport trusts the PEM certificates in caFile (and nothing else: a test must not pass because
// some system root happened to match).
func caTransport(caFile string) (*http.Transport, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// removeBucket deletes every object version and incomplete upload in bucket, then the bucket.
func removeBucket(client *minio.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			errs = append(errs, obj.Err)
			break
		}
		err := client.RemoveObject(ctx, bucket, obj.Key,
			minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true})
		if err != nil {
			errs = append(errs, fmt.Errorf("object %s (version %q): %w", obj.Key, obj.VersionID, err))
		}
	}
	for up := range client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			errs = append(errs, up.Err)
			break
		}
		if err := client.RemoveIncompleteUpload(ctx, bucket, up.Key); err != nil {
			errs = append(errs, fmt.Errorf("upload %s: %w", up.Key, err))
		}
	}
	if err := client.RemoveBucket(ctx, bucket); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
