package influxclient_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// TestRetryTransient: a call marked Retry survives answers of 500 (what a 2.7 server says for a moment
// while writes reach a shard it has just released) and sends its body again each time; one not marked
// Retry, or a 401, fails at once; credentials travel in a header and never appear in an error.
func TestRetryTransient(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Token s3cr3t" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":"unauthorized","message":"unauthorized access"}`)
			return
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"code":"internal error","message":"An internal error has occurred - check server logs"}`)
			return
		}
		io.WriteString(w, "got "+string(body))
	}))
	defer srv.Close()
	c, err := influxclient.New(influxclient.Options{URL: srv.URL, Token: "s3cr3t", RetryFor: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(t.Context(), influxclient.Request{Method: http.MethodPost, Path: "/x", Body: strings.NewReader("abc")})
	if !influxclient.Transient(err) || !strings.Contains(err.Error(), "POST /x: 500 Internal Server Error") {
		t.Fatalf("without Retry: %v", err)
	}
	resp, err := c.Do(t.Context(), influxclient.Request{Method: http.MethodPost, Path: "/x", Body: strings.NewReader("abc"), Retry: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "got abc" || calls.Load() != 3 {
		t.Fatalf("answer %q after %d calls, want the body sent again on the third", b, calls.Load())
	}

	bad, _ := influxclient.New(influxclient.Options{URL: srv.URL, Token: "wrong-token"})
	calls.Store(0)
	_, err = bad.Do(t.Context(), influxclient.Request{Method: http.MethodGet, Path: "/x", Retry: true})
	if !errors.Is(err, influxclient.ErrUnauthorized) || influxclient.Transient(err) || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := influxclient.New(influxclient.Options{URL: "http://u:Hunter2@[::1"}); err == nil || strings.Contains(err.Error(), "Hunter2") {
		t.Fatalf("bad url: %v", err)
	}
}
