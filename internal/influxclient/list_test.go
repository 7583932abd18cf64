package influxclient_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// TestListPages: buckets come in pages by offset, tasks by the id of the last one; List reads them
// all, with the caller's filters on every page. (The test servers hold too few objects to page.)
func TestListPages(t *testing.T) {
	const n = 250
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("orgID") != "o1" {
			http.Error(w, `{"message":"orgID lost"}`, http.StatusBadRequest)
			return
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		start := 0
		switch r.URL.Path {
		case "/api/v2/buckets":
			start, _ = strconv.Atoi(q.Get("offset"))
		case "/api/v2/tasks":
			if a := q.Get("after"); a != "" {
				fmt.Sscanf(a, "id%d", &start)
				start++
			}
		}
		items := []map[string]string{}
		for i := start; i < n && len(items) < limit; i++ {
			items = append(items, map[string]string{"id": fmt.Sprintf("id%d", i), "name": fmt.Sprintf("n%d", i)})
		}
		key := "buckets"
		if r.URL.Path == "/api/v2/tasks" {
			key = "tasks"
		}
		json.NewEncoder(w).Encode(map[string]any{key: items})
	}))
	defer srv.Close()
	c, err := influxclient.New(influxclient.Options{URL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	type item struct{ ID, Name string }
	for _, tc := range []struct{ path, key string }{{"/api/v2/buckets", "buckets"}, {"/api/v2/tasks", "tasks"}} {
		got, err := influxclient.List[item](t.Context(), c, tc.path, tc.key, url.Values{"orgID": {"o1"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if len(got) != n || got[0].ID != "id0" || got[n-1].Name != fmt.Sprintf("n%d", n-1) {
			t.Fatalf("%s: %d items, first %+v", tc.path, len(got), got[0])
		}
	}
}
