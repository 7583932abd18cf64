package s3store_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestCAFile: over TLS, the store trusts the server only through CAFile: with it a round trip works,
// without it the certificate is refused (a *tls.CertificateVerificationError callers can branch on),
// and a CA file without TLS or without a certificate in it is a configuration error.
func TestCAFile(t *testing.T) {
	t.Parallel()
	b := testenv.S3TLS(t)
	cfg := s3store.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, Bucket: b.Bucket,
		TLS: true, CAFile: b.CAFile, Region: "us-east-1", PathStyle: true}
	s, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBytes(t.Context(), "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}

	noCA := cfg
	noCA.CAFile = ""
	_, err = s3store.New(t.Context(), noCA)
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Fatalf("without the CA file: %v, want a certificate verification error", err)
	}

	plain := cfg
	plain.TLS = false
	if _, err := s3store.New(t.Context(), plain); !errors.Is(err, s3store.ErrConfig) {
		t.Fatalf("CA file without TLS: %v, want ErrConfig", err)
	}

	bad := cfg
	bad.CAFile = filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(bad.CAFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s3store.New(t.Context(), bad); !errors.Is(err, s3store.ErrConfig) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("CA file without a certificate: %v", err)
	}
}
