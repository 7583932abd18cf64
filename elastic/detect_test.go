package elastic

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// No test server runs with security enabled, so the 401 answer is the one
// path checked against a stand-in (docs/elastic.md lists it as not verified
// on a real server).
func TestDetectUnauthorized(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "elastic" || p != "right" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user [elastic]"}],"type":"security_exception","reason":"unable to authenticate user [elastic]"},"status":401}`))
			return
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	_, err := New(t.Context(), Options{URL: "http://elastic:wrong@" + srv.Listener.Addr().String()})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	p, err := New(t.Context(), Options{URL: "http://elastic:right@" + srv.Listener.Addr().String()})
	if err != nil || p.Engine() != EngineElasticsearch {
		t.Fatalf("right password: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	for _, e := range []Engine{EngineAuto, EngineElasticsearch, EngineOpenSearch} {
		p, err := New(t.Context(), Options{URL: "http://127.0.0.1:1", Engine: e})
		if err == nil {
			_, err = p.Status(t.Context())
		}
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v", e, err)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{}, {URL: "ftp://x"}, {URL: "http://x", Engine: "solr"}, {URL: "http://x", Engine: EngineOpenSearch, Prefix: "A_"}} {
		if _, err := New(t.Context(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
