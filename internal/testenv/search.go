package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// SearchServer is an OpenSearch or Elasticsearch test server and an index-name prefix owned by one
// test. When the test ends (and did not fail), every data stream, index, alias, index template,
// component template and legacy template whose name starts with the prefix is deleted.
type SearchServer struct {
	// Engine is "opensearch" or "elasticsearch".
	Engine string
	// URL is the HTTP API, e.g. http://127.0.0.1:59200.
	URL string
	// Prefix is "t_<slug>_<random>_": lowercase, safe at the start of index, alias and template names.
	Prefix string
}

// Search returns the test server of engine ("opensearch" or "elasticsearch") and a fresh prefix for t.
func Search(t testing.TB, engine string) *SearchServer {
	t.Helper()
	var key string
	switch engine {
	case "opensearch":
		key = "QUANTX_TEST_OPENSEARCH_URL"
	case "elasticsearch":
		key = "QUANTX_TEST_ELASTICSEARCH_URL"
	default:
		t.Fatalf("testenv: unknown search engine %q (want opensearch or elasticsearch)", engine)
	}
	s := &SearchServer{
		Engine: engine,
		URL:    strings.TrimRight(require(t, engine, key)[0], "/"),
		Prefix: uniqueName(t, "t_", "_", 48) + "_",
	}
	if err := httpProbe(context.Background(), s.URL+"/_cluster/health"); err != nil {
		unavailable(t, engine, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: kept %s indices %s* of the failed test on %s", engine, s.Prefix, s.URL)
			return
		}
		if err := s.deleteAll(); err != nil {
			t.Errorf("testenv: cleaning up %s* on %s: %v", s.Prefix, s.URL, err)
		}
	})
	return s
}

// deleteAll removes what the test created under its prefix. Names are listed first and deleted by name:
// Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
func (s *SearchServer) deleteAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pattern := s.Prefix + "*"

	// Data streams first: their backing indices cannot be deleted directly. The Elasticsearch integ-test
	// distribution has no data stream API (405): ignore that.
	var ds struct {
		DataStreams []struct {
			Name string `json:"name"`
		} `json:"data_streams"`
	}
	if ok, err := s.getJSON(ctx, "/_data_stream/"+pattern, &ds); err != nil {
		return err
	} else if ok {
		for _, d := range ds.DataStreams {
			if err := s.delete(ctx, "/_data_stream/"+url.PathEscape(d.Name)); err != nil {
				return err
			}
		}
	}

	// Indices (their aliases go with them), then aliases with the prefix on other indices.
	var indices []struct {
		Index string `json:"index"`
	}
	if _, err := s.getJSON(ctx, "/_cat/indices/"+pattern+"?format=json&h=index&expand_wildcards=all", &indices); err != nil {
		return err
	}
	names := make([]string, 0, len(indices))
	for _, ix := range indices {
		names = append(names, ix.Index)
	}
	for chunk := range slices.Chunk(names, 50) {
		if err := s.delete(ctx, "/"+strings.Join(chunk, ",")+"?expand_wildcards=all"); err != nil {
			return err
		}
	}
	var aliases map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if _, err := s.getJSON(ctx, "/_alias/"+pattern, &aliases); err != nil {
		return err
	}
	for index, a := range aliases {
		for alias := range a.Aliases {
			if err := s.delete(ctx, "/"+url.PathEscape(index)+"/_alias/"+url.PathEscape(alias)); err != nil {
				return err
			}
		}
	}

	// Index templates before the component templates they may use; legacy templates last.
	var it struct {
		IndexTemplates []struct {
			Name string `json:"name"`
		} `json:"index_templates"`
	}
	if _, err := s.getJSON(ctx, "/_index_template/"+pattern, &it); err != nil {
		return err
	}
	for _, x := range it.IndexTemplates {
		if err := s.delete(ctx, "/_index_template/"+url.PathEscape(x.Name)); err != nil {
			return err
		}
	}
	var ct struct {
		ComponentTemplates []struct {
			Name string `json:"name"`
		} `json:"component_templates"`
	}
	if _, err := s.getJSON(ctx, "/_component_template/"+pattern, &ct); err != nil {
		return err
	}
	for _, x := range ct.ComponentTemplates {
		if err := s.delete(ctx, "/_component_template/"+url.PathEscape(x.Name)); err != nil {
			return err
		}
	}
	var legacy map[string]json.RawMessage
	if _, err := s.getJSON(ctx, "/_template/"+pattern, &legacy); err != nil {
		return err
	}
	for name := range legacy {
		if err := s.delete(ctx, "/_template/"+url.PathEscape(name)); err != nil {
			return err
		}
	}
	return nil
}

// getJSON decodes GET path into v. It returns false, nil when the server has nothing there (404) or
// does not have the API (400, 405).
func (s *SearchServer) getJSON(ctx context.Context, path string, v any) (bool, error) {
	status, body, err := s.do(ctx, http.MethodGet, path)
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusBadRequest:
		return false, nil
	case status != http.StatusOK:
		return false, fmt.Errorf("GET %s: HTTP %d: %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("GET %s: %w", path, err)
	}
	return true, nil
}

// delete sends DELETE path; a 404 counts as done.
func (s *SearchServer) delete(ctx context.Context, path string) error {
	status, body, err := s.do(ctx, http.MethodDelete, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusNotFound {
		return fmt.Errorf("DELETE %s: HTTP %d: %s", path, status, body)
	}
	return nil
}

func (s *SearchServer) do(ctx context.Context, method, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, body, err
}
