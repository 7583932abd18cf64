package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// detect tells the engines apart with plain HTTP, before either client is
// built (go-elasticsearch refuses OpenSearch, and opensearch-go would talk to
// Elasticsearch without noticing):
//   - OpenSearch answers GET / with version.distribution "opensearch";
//   - Elasticsearch sets X-Elastic-Product: Elasticsearch on every answer, even
//     on the 405 its integ-test distribution gives for GET /, so the header is
//     checked first, then again on /_cluster/health.
func detect(ctx context.Context, c conn) (Engine, error) {
	hc := &http.Client{Transport: c.transport, Timeout: 30 * time.Second}
	get := func(path string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.addr+path, nil)
		if err != nil {
			return nil, nil, err
		}
		if c.user != "" {
			req.SetBasicAuth(c.user, c.password)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("detect engine: %w: %w", ErrUnreachable, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("detect engine: %w: %w", ErrUnreachable, err)
		}
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			return nil, nil, checkResponse("detect engine: GET "+path, res.StatusCode, body)
		}
		return res, body, nil
	}
	for _, path := range []string{"/", "/_cluster/health"} {
		res, body, err := get(path)
		if err != nil {
			return "", err
		}
		if res.Header.Get("X-Elastic-Product") == "Elasticsearch" {
			return EngineElasticsearch, nil
		}
		var info struct {
			Version struct {
				Distribution string `json:"distribution"`
			} `json:"version"`
		}
		if path == "/" && res.StatusCode == http.StatusOK && json.Unmarshal(body, &info) == nil && info.Version.Distribution == "opensearch" {
			return EngineOpenSearch, nil
		}
	}
	return "", fmt.Errorf("%w at %s: neither X-Elastic-Product nor an OpenSearch version answer", ErrUnknownEngine, c.addr)
}
