package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// probeTimeout bounds every "is the server there" check, so a dead server costs a test 5 s, not a hang.
const probeTimeout = 5 * time.Second

// errNotSet reports a QUANTX_TEST_* variable found neither in the environment nor in the env file.
var errNotSet = errors.New("not set in the environment nor in the services env file")

// envFile is where scripts/services writes the servers' addresses.
func envFile() string {
	cache := os.Getenv("QUANTX_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "quantx-db")
	}
	return filepath.Join(cache, "services.env")
}

// lookup returns the value of key from the environment, or else from the env file's `export K=V` lines.
func lookup(key string) (string, error) {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v, nil
	}
	path := envFile()
	if path == "" {
		return "", fmt.Errorf("%s: %w", key, errNotSet)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w (and %w)", key, errNotSet, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k != key {
			continue
		}
		if n := len(v); n >= 2 && (v[0] == '\'' && v[n-1] == '\'' || v[0] == '"' && v[n-1] == '"') {
			v = v[1 : n-1]
		}
		if v != "" {
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return "", fmt.Errorf("%s: %w (%s)", key, errNotSet, path)
}

// InCI reports whether a missing server must fail the test rather than skip it: CI set to anything
// but empty or "false" (CI=1, CI=yes and CI=true all count), as CI systems set it in many spellings.
func InCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return v != "" && !strings.EqualFold(v, "false")
}

// startCommand is what a developer runs to get the named server.
func startCommand(service string) string {
	if os.Getenv("QUANTX_TEST_PROVIDER") == "docker" {
		return "go run ./cmd/quantx-db testenv up --provider docker --provision=false --services " + service
	}
	return "scripts/services up " + service
}

// unavailable ends the test because service cannot be used: t.Fatalf under CI=true, t.Skipf otherwise.
func unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available: %v; start it with: %s", service, err, startCommand(service))
	if InCI() {
		t.Fatalf("%s (CI is set: failing instead of skipping)", msg)
	}
	t.Skip(msg)
}

// require returns the values of keys, or ends the test through unavailable.
func require(t testing.TB, service string, keys ...string) []string {
	t.Helper()
	vals := make([]string, len(keys))
	for i, k := range keys {
		v, err := lookup(k)
		if err != nil {
			unavailable(t, service, err)
		}
		vals[i] = v
	}
	return vals
}

// httpProbe checks that url answers with a status below 500 within probeTimeout.
func httpProbe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
