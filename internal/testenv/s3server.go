package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// S3Server is a private S3 server (the same versitygw build as the shared one) owned by one test, for
// tests that kill or stop S3 in the middle of an operation. Bucket is created on it. It is killed and
// its data removed when the test ends.
type S3Server struct {
	S3Bucket // Endpoint, keys and a fresh bucket on this server

	bin, dataDir, verDir, logFile string
	certFile, keyFile             string // TLS only
	cmd                           *exec.Cmd
}

// NewS3Server starts a private versitygw on a free loopback port, with one fresh bucket.
func NewS3Server(t testing.TB) *S3Server {
	t.Helper()
	return newS3Server(t, false)
}

// NewS3ServerTLS starts a private versitygw that speaks TLS only, with a certificate made for the
// test (127.0.0.1 as an IP and as a DNS name, as pgBackRest 2.45 matches names only). CAFile is
// that certificate, in a folder every user can read (pgBackRest runs as the data directory's owner).
func NewS3ServerTLS(t testing.TB) *S3Server {
	t.Helper()
	return newS3Server(t, true)
}

func newS3Server(t testing.TB, withTLS bool) *S3Server {
	t.Helper()
	bin := Tool(t, "s3", "versitygw")
	dir := t.TempDir()
	s := &S3Server{
		S3Bucket: S3Bucket{
			Endpoint:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
			AccessKey: "quantxprivate",
			SecretKey: strings.ToLower(rand.Text()),
			Bucket:    uniqueName(t, "t-", "-", 63),
		},
		bin: bin, dataDir: filepath.Join(dir, "data"), verDir: filepath.Join(dir, "versions"),
		logFile: filepath.Join(dir, "versitygw.log"),
	}
	for _, d := range []string{s.dataDir, s.verDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if withTLS {
		s.CAFile, s.keyFile = selfSignedCert(t)
		s.certFile = s.CAFile
	}
	t.Cleanup(func() { s.kill() })
	s.Start(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("testenv: creating bucket %s: %v", s.Bucket, err)
	}
	return s
}

// Start (re)starts the server on the same port and data, and waits until it is healthy.
func (s *S3Server) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--port", s.Endpoint, "--health", "/health", "--quiet"}
	if s.certFile != "" {
		args = append(args, "--cert", s.certFile, "--key", s.keyFile)
	}
	cmd := exec.Command(s.bin, append(args, "posix", "--versioning-dir", s.verDir, s.dataDir)...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("testenv: starting versitygw: %v", err)
	}
	logf.Close()
	s.cmd = cmd
	go cmd.Wait() // reap it whenever it exits
	health, client := "http://"+s.Endpoint+"/health", http.DefaultClient
	if s.CAFile != "" {
		tr, err := caTransport(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		health, client = "https://"+s.Endpoint+"/health", &http.Client{Transport: tr}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.logFile)
			t.Fatalf("testenv: versitygw on %s not healthy: %v\n%s", s.Endpoint, err, tail(log, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the server (connections in flight are cut, nothing is flushed).
func (s *S3Server) Kill(t testing.TB) {
	t.Helper()
	s.kill()
}

func (s *S3Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	for i := 0; i < 100 && s.cmd.Process.Signal(syscall.Signal(0)) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd = nil
}
