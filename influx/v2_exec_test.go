package influx

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorded2x answers like a 2.x server from the recorded "drift" scenario and
// keeps every request, so the test can compare what the executor sent with
// what the plan said. No 2.x server runs here (libflux cannot be built
// offline); this is the only way to exercise the executor and readV2.
type recorded2x struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query body"
	status   int      // answer every API call with this status when non-zero
}

func (s *recorded2x) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	s.mu.Unlock()
	if r.URL.Path == "/ping" {
		w.Header().Set("X-Influxdb-Build", "OSS")
		w.Header().Set("X-Influxdb-Version", "v2.7.11")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Header.Get("Authorization") != "Token s3cr3t-token" || s.status == http.StatusUnauthorized {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"unauthorized","message":"unauthorized access"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	file := func(name string) {
		b, _ := os.ReadFile(filepath.Join("testdata", "v2", name))
		w.Write(b)
	}
	switch key := r.Method + " " + r.URL.Path; {
	case key == "GET /api/v2/orgs":
		io.WriteString(w, `{"links":{"self":"/api/v2/orgs"},"orgs":[{"id":"9a1b2c3d4e5f6071","name":"quantx_db","description":"","createdAt":"2026-11-20T09:00:00Z","updatedAt":"2026-11-20T09:00:00Z"}]}`)
	case key == "GET /api/v2/buckets":
		file("drift.buckets.json")
	case key == "GET /api/v2/dbrps":
		file("drift.dbrps.json")
	case key == "GET /api/v2/tasks":
		file("drift.tasks.json")
	case key == "POST /api/v2/buckets":
		var b map[string]any
		json.Unmarshal(body, &b)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": "b0000000000000b3", "orgID": b["orgID"], "name": b["name"], "type": "user", "retentionRules": b["retentionRules"]})
	case strings.HasPrefix(key, "PATCH /api/v2/buckets/"):
		io.WriteString(w, `{"id":"b0000000000000a1","orgID":"9a1b2c3d4e5f6071","name":"quantx_db/7_days_detailed","retentionRules":[{"type":"expire","everySeconds":604800,"shardGroupDurationSeconds":86400}]}`)
	case key == "POST /api/v2/dbrps":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"d0000000000000b3","orgID":"9a1b2c3d4e5f6071","bucketID":"b0000000000000b3","database":"quantx_db","retention_policy":"1_year_daily","default":false}`)
	case strings.HasPrefix(key, "PATCH /api/v2/dbrps/"):
		io.WriteString(w, `{"content":{"id":"d0000000000000a1","orgID":"9a1b2c3d4e5f6071","bucketID":"b0000000000000a1","database":"quantx_db","retention_policy":"7_days_detailed","default":true}}`)
	case key == "POST /api/v2/tasks":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"t0000000000000b1","orgID":"9a1b2c3d4e5f6071","name":"x","status":"active","flux":""}`)
	case strings.HasPrefix(key, "PATCH /api/v2/tasks/"):
		io.WriteString(w, `{"id":"t0000000000000a1","orgID":"9a1b2c3d4e5f6071","name":"x","status":"active","flux":""}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not found","message":"path not found"}`)
	}
}

func TestSetupV2Executor(t *testing.T) {
	rec := &recorded2x{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	p, err := New(Options{URL: srv.URL, Token: "s3cr3t-token"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Setup(t.Context(), SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Server.Dialect != DialectV2 || rep.Server.Version != "v2.7.11" || len(rep.Actions) != 14 {
		t.Fatalf("server %+v, %d actions", rep.Server, len(rep.Actions))
	}
	var writes []string
	for _, r := range rec.requests {
		if !strings.HasPrefix(r, "GET ") {
			writes = append(writes, r)
		}
	}
	if len(writes) != 14 {
		t.Fatalf("%d write requests, want one per action:\n%s", len(writes), strings.Join(writes, "\n"))
	}
	// Each request is the planned call: same method and path, and the planned
	// body's fields (the client adds nothing we did not plan, except what the
	// assertions below name).
	for i, a := range rep.Actions {
		wantPrefix := a.Call.Method + " " + a.Call.Path
		if !strings.HasPrefix(writes[i], wantPrefix+" ") {
			t.Errorf("request %d = %.120s, want %s", i, writes[i], wantPrefix)
		}
	}
	for _, want := range []string{
		// the new daily bucket's ID, known only after its creation, reaches its mapping
		`POST /api/v2/dbrps {"bucketID":"b0000000000000b3","database":"quantx_db","default":false,"orgID":"9a1b2c3d4e5f6071","retention_policy":"1_year_daily"}`,
		`PATCH /api/v2/dbrps/d0000000000000a1?orgID=9a1b2c3d4e5f6071 {"default":true}`,
		`PATCH /api/v2/buckets/b0000000000000a1 {"name":"quantx_db/7_days_detailed","retentionRules":[{"everySeconds":604800,"shardGroupDurationSeconds":86400,"type":"expire"}]}`,
		`POST /api/v2/buckets {"name":"quantx_db/1_year_daily","orgID":"9a1b2c3d4e5f6071","retentionRules":[{"everySeconds":31536000,"shardGroupDurationSeconds":604800,"type":"expire"}]}`,
	} {
		if !containsJSON(writes, want) {
			t.Errorf("no request %s in:\n%s", want, strings.Join(writes, "\n"))
		}
	}
	for _, w := range writes {
		if strings.HasPrefix(w, "POST /api/v2/tasks ") && (!strings.Contains(w, `"status":"active"`) || !strings.Contains(w, `"orgID":"9a1b2c3d4e5f6071"`) || !strings.Contains(w, `option task = {name: \"quantx_db/cq_`)) {
			t.Errorf("task creation %.200s", w)
		}
		if strings.HasPrefix(w, "DELETE") {
			t.Errorf("executor deleted something: %s", w)
		}
	}
}

func TestV2Unauthorized(t *testing.T) {
	srv := httptest.NewServer(&recorded2x{status: http.StatusUnauthorized})
	defer srv.Close()
	p, err := New(Options{URL: srv.URL, Token: "s3cr3t-token"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Status(t.Context())
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v", err)
	}
}

// containsJSON reports whether one request equals want once both bodies are
// decoded: key order is the client's business.
func containsJSON(requests []string, want string) bool {
	wl, wb, _ := strings.Cut(want, " {")
	for _, r := range requests {
		rl, rb, ok := strings.Cut(r, " {")
		if !ok || rl != wl {
			continue
		}
		var a, b any
		if json.Unmarshal([]byte("{"+rb), &a) == nil && json.Unmarshal([]byte("{"+wb), &b) == nil {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) == string(jb) {
				return true
			}
		}
	}
	return false
}
