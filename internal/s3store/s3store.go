// Package s3store is the small S3 layer shared by backups and partition archives: one bucket, one key prefix,
// streaming uploads of unknown size with a fixed part size, and errors callers can branch on.
package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// PartSize is the multipart part size of every streaming upload. minio-go with PartSize 0 and an unknown
// size allocates a 537 MiB buffer per call (test-services.md); 16 MiB bounds memory per upload to one part
// and still allows objects up to 10,000 parts = 156 GiB.
const PartSize = 16 << 20

// Sentinel errors for the conditions callers branch on (hints in the CLI, retries, "not found" checks).
var (
	ErrBucketNotFound = errors.New("bucket does not exist")
	ErrBadCredentials = errors.New("S3 credentials rejected")
	ErrAccessDenied   = errors.New("S3 access denied")
	ErrNotFound       = errors.New("object not found")
	ErrConfig         = errors.New("invalid S3 configuration")
)

// Config says where objects live. Prefix is prepended to every key ("quantx-db/" → "quantx-db/backups/...").
type Config struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Bucket    string
	TLS       bool
	Prefix    string
	Region    string       // optional; empty lets minio-go discover it
	Logger    *slog.Logger // nil discards
	// Transport replaces the HTTP transport (tests; custom CAs). Nil uses minio-go's default.
	Transport http.RoundTripper
	// CAFile is a PEM bundle trusted in addition to the system's roots (TLS only; ignored when
	// Transport is set).
	CAFile string
	// PathStyle forces path-style requests (http://host/bucket/key), which self-hosted servers
	// such as MinIO or versitygw behind an IP address need; false lets minio-go choose.
	PathStyle bool
	// MaxRetries bounds minio-go's retries of a failed request (0: its default, 10 with backoff);
	// a health probe that must answer quickly sets 1.
	MaxRetries int
}

// Store is a bucket plus a key prefix. It is safe for concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
	log    *slog.Logger
}

// PutResult describes an uploaded object, measured on the stream that was sent.
type PutResult struct {
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ObjectInfo describes a stored object. Key is relative to the store's prefix.
type ObjectInfo struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	LastModified time.Time         `json:"last_modified"`
	ETag         string            `json:"etag"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// Upload is an incomplete multipart upload. Key is relative to the store's prefix.
type Upload struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"`
}

// New connects to the endpoint and checks that the bucket exists, so that a typo in the bucket name or the
// credentials fails here with a clear error rather than after a long dump.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("s3: endpoint and bucket are required: %w", ErrConfig)
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("s3: endpoint %q must be host:port without a scheme (TLS is a separate setting): %w", cfg.Endpoint, ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil && cfg.CAFile != "" {
		if !cfg.TLS {
			return nil, fmt.Errorf("s3: a CA file (%s) is only used over TLS: %w", cfg.CAFile, ErrConfig)
		}
		var err error
		if tr, err = caTransport(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.TLS,
		Region:       cfg.Region,
		Transport:    tr,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: cleanPrefix(cfg.Prefix), log: log}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, classify(err))
	}
	if !ok {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, ErrBucketNotFound)
	}
	return s, nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// FullKey returns the object key in the bucket (prefix included), for runbooks and other S3 clients.
func (s *Store) FullKey(key string) string { return s.prefix + strings.TrimPrefix(key, "/") }

// Put streams r into key without knowing its size: a multipart upload of PartSize parts, so memory stays
// at about one part whatever the size. Size and SHA-256 are computed on the bytes actually sent. On any
// error (including a read error from r or ctx cancellation) the multipart upload is aborted, so no part
// is left billed; a killed process leaves one behind, which AbortIncomplete removes.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta map[string]string) (PutResult, error) {
	full := s.FullKey(key)
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	_, err := s.client.PutObject(ctx, s.bucket, full, ctxReader{ctx: ctx, r: cr}, -1, minio.PutObjectOptions{
		PartSize:     PartSize,
		UserMetadata: meta,
		ContentType:  "application/octet-stream",
	})
	if err != nil {
		// minio-go aborts the upload itself (detached from ctx); a second try by key covers the case where
		// the upload ID was created but the abort request failed.
		s.abortKey(ctx, full)
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return PutResult{}, fmt.Errorf("upload %s: %w", full, classify(err))
	}
	return PutResult{Key: key, Size: cr.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// PutBytes stores a small object in one request (manifests, markers).
func (s *Store) PutBytes(ctx context.Context, key string, b []byte, meta map[string]string) (PutResult, error) {
	full := s.FullKey(key)
	_, err := s.client.PutObject(ctx, s.bucket, full, strings.NewReader(string(b)), int64(len(b)), minio.PutObjectOptions{
		UserMetadata: meta,
		ContentType:  "application/json",
	})
	if err != nil {
		return PutResult{}, fmt.Errorf("upload %s: %w", full, classify(err))
	}
	sum := sha256.Sum256(b)
	return PutResult{Key: key, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// Get opens key for streaming. The caller closes it. A missing key returns ErrNotFound here, not on the
// first Read (minio-go's GetObject is lazy, so Get stats first).
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	full := s.FullKey(key)
	obj, err := s.client.GetObject(ctx, s.bucket, full, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", full, classify(err))
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, fmt.Errorf("download %s: %w", full, classify(err))
	}
	return obj, nil
}

// Stat returns the size and metadata of key.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	full := s.FullKey(key)
	oi, err := s.client.StatObject(ctx, s.bucket, full, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", full, classify(err))
	}
	return s.info(oi), nil
}

// List returns every object under prefix (relative to the store's prefix), recursively, in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	full := s.FullKey(prefix)
	out := []ObjectInfo{}
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if oi.Err != nil {
			return nil, fmt.Errorf("list %s: %w", full, classify(oi.Err))
		}
		out = append(out, s.info(oi))
	}
	return out, nil
}

// Remove deletes keys (relative to the prefix). A key that does not exist is not an error.
func (s *Store) Remove(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: s.FullKey(k)}
	}
	close(ch)
	var errs []error
	for e := range s.client.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err != nil && !errors.Is(classify(e.Err), ErrNotFound) {
			errs = append(errs, fmt.Errorf("remove %s: %w", e.ObjectName, classify(e.Err)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.log.DebugContext(ctx, "objects removed", "bucket", s.bucket, "count", len(keys))
	return nil
}

// ListIncompleteUploads returns the multipart uploads under prefix that were started and never completed
// or aborted: what a killed upload leaves behind.
func (s *Store) ListIncompleteUploads(ctx context.Context, prefix string) ([]Upload, error) {
	full := s.FullKey(prefix)
	out := []Upload{}
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, full, true) {
		if u.Err != nil {
			return nil, fmt.Errorf("list incomplete uploads %s: %w", full, classify(u.Err))
		}
		out = append(out, Upload{Key: strings.TrimPrefix(u.Key, s.prefix), UploadID: u.UploadID, Initiated: u.Initiated})
	}
	return out, nil
}

// AbortIncomplete aborts every incomplete multipart upload under prefix and returns what it aborted.
// Only call it when no upload under prefix can be running; otherwise use AbortIncompleteBefore.
func (s *Store) AbortIncomplete(ctx context.Context, prefix string) ([]Upload, error) {
	return s.AbortIncompleteBefore(ctx, prefix, time.Time{})
}

// AbortIncompleteBefore aborts the incomplete uploads under prefix that have shown no activity since t:
// initiated before t and no part stored at or after t (zero t: abort all). A live upload stores a part
// every PartSize bytes, so a t some minutes in the past leaves concurrent uploads alone while still
// removing what a killed process left behind.
func (s *Store) AbortIncompleteBefore(ctx context.Context, prefix string, t time.Time) ([]Upload, error) {
	ups, err := s.ListIncompleteUploads(ctx, prefix)
	if err != nil {
		return nil, err
	}
	core := minio.Core{Client: s.client}
	done := []Upload{}
	var errs []error // one upload that cannot be handled must not keep the others alive
	for _, u := range ups {
		if err := ctx.Err(); err != nil {
			return done, errors.Join(append(errs, err)...)
		}
		if !t.IsZero() {
			last, err := s.lastActivity(ctx, core, u)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !last.Before(t) {
				continue
			}
		}
		if err := core.AbortMultipartUpload(ctx, s.bucket, s.FullKey(u.Key), u.UploadID); err != nil {
			if errors.Is(classify(err), ErrNotFound) {
				continue // finished or aborted meanwhile
			}
			errs = append(errs, fmt.Errorf("abort upload %s of %s: %w", u.UploadID, u.Key, classify(err)))
			continue
		}
		s.log.InfoContext(ctx, "incomplete upload aborted", "bucket", s.bucket, "key", u.Key, "initiated", u.Initiated)
		done = append(done, u)
	}
	return done, errors.Join(errs...)
}

// lastActivity is the newest of the upload's initiation and its parts' modification times.
func (s *Store) lastActivity(ctx context.Context, core minio.Core, u Upload) (time.Time, error) {
	last := u.Initiated
	marker := 0
	for {
		res, err := core.ListObjectParts(ctx, s.bucket, s.FullKey(u.Key), u.UploadID, marker, 1000)
		if err != nil {
			if errors.Is(classify(err), ErrNotFound) {
				return last, nil
			}
			return last, fmt.Errorf("list parts of upload %s of %s: %w", u.UploadID, u.Key, classify(err))
		}
		for _, p := range res.ObjectParts {
			if p.LastModified.After(last) {
				last = p.LastModified
			}
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return last, nil
		}
		marker = res.NextPartNumberMarker
	}
}

func (s *Store) abortKey(ctx context.Context, full string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, full); err != nil {
		s.log.DebugContext(ctx, "abort after failed upload", "key", full, "error", err)
	}
}

func (s *Store) info(oi minio.ObjectInfo) ObjectInfo {
	meta := map[string]string{}
	for k, v := range oi.UserMetadata {
		meta[strings.ToLower(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"))] = v
	}
	for k, v := range oi.Metadata {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-meta-") && len(v) > 0 {
			meta[strings.TrimPrefix(lk, "x-amz-meta-")] = v[0]
		}
	}
	return ObjectInfo{
		Key:          strings.TrimPrefix(oi.Key, s.prefix),
		Size:         oi.Size,
		LastModified: oi.LastModified.UTC(),
		ETag:         oi.ETag,
		Metadata:     meta,
	}
}

// cleanPrefix makes "", "/", "a", "a/" and "/a//" into "", "", "a/", "a/", "a/".
func cleanPrefix(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// classify maps S3 error codes onto the package's sentinels, keeping the server's error reachable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	var sentinel error
	switch resp.Code {
	case "NoSuchBucket":
		sentinel = ErrBucketNotFound
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound": // the last: versitygw, unknown key
		sentinel = ErrBadCredentials
	case "AccessDenied":
		sentinel = ErrAccessDenied
	case "NoSuchKey", "NoSuchUpload":
		sentinel = ErrNotFound
	default:
		return err
	}
	return &Error{Code: resp.Code, Sentinel: sentinel, Err: err}
}

// Error is an S3 error with a known meaning. errors.Is matches its sentinel; Unwrap keeps minio's error.
type Error struct {
	Code     string // the S3 error code, e.g. "NoSuchBucket"
	Sentinel error
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Sentinel, e.Code, e.Err)
}

// Is reports whether target is the sentinel this error maps to.
func (e *Error) Is(target error) bool { return target == e.Sentinel }

// Unwrap returns minio's error.
func (e *Error) Unwrap() error { return e.Err }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops feeding the upload once ctx is done: minio-go only checks ctx between HTTP requests, and a
// reader that keeps producing would otherwise let a cancelled upload complete.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
