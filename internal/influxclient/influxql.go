package influxclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Query is one InfluxQL statement sent to /query: 1.x serves every
// statement there, 2.x the read statements, through its DBRP mappings.
type Query struct {
	DB        string // the db parameter; "" for none
	Statement string
	Retry     bool          // a read (or an idempotent write such as SELECT ... INTO): retry transient failures
	Timeout   time.Duration // 0: the client's Timeout
}

// Series is one series of a /query answer.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Col returns the value of column name in row, or nil.
func (s Series) Col(row []any, name string) any {
	if i := slices.Index(s.Columns, name); i >= 0 && i < len(row) {
		return row[i]
	}
	return nil
}

// QuoteIdent quotes an InfluxQL identifier (a database, retention policy or
// measurement name), which may hold any character.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// QueryError is a statement the server refused. 1.x answers HTTP 200 with
// {"results":[{"error": ...}]}, so it is found by parsing, not by status.
type QueryError struct {
	Statement string
	Message   string
}

func (e *QueryError) Error() string {
	stmt := e.Statement
	if len(stmt) > 120 {
		stmt = stmt[:117] + "..."
	}
	return fmt.Sprintf("influxql %s: %s", stmt, e.Message)
}

// Unwrap lets callers test errors.Is(err, ErrFieldTypeConflict).
func (e *QueryError) Unwrap() error {
	if strings.Contains(e.Message, "field type conflict") {
		return ErrFieldTypeConflict
	}
	return nil
}

// Query runs one statement. One statement per request: with several, an
// error in the first leaves the others "not executed" and the answer harder
// to attribute. The series of every result come back in order.
func (c *Client) Query(ctx context.Context, q Query) ([]Series, error) {
	form := url.Values{"q": {q.Statement}}
	if q.DB != "" {
		form.Set("db", q.DB)
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/query", Body: strings.NewReader(form.Encode()),
		ContentType: "application/x-www-form-urlencoded", Retry: q.Retry, Timeout: q.Timeout})
	if err != nil {
		if he, ok := errors.AsType[*HTTPError](err); ok && he.Unwrap() == nil {
			return nil, &QueryError{Statement: q.Statement, Message: fmt.Sprintf("http %d: %s", he.Status, he.Message)}
		}
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string   `json:"error"`
			Series []Series `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("influxql %s: decode answer: %w", q.Statement, err)
	}
	if body.Error != "" {
		return nil, &QueryError{Statement: q.Statement, Message: body.Error}
	}
	var out []Series
	for _, r := range body.Results {
		if r.Error != "" {
			return nil, &QueryError{Statement: q.Statement, Message: r.Error}
		}
		out = append(out, r.Series...)
	}
	c.log.DebugContext(ctx, "influxql", "statement", q.Statement)
	return out, nil
}

// Write sends line protocol (nanosecond timestamps) to bucket through
// /api/v2/write, which 1.8 ("database/retention_policy", org ignored) and
// 2.x both serve. A field of another type than the shard's wraps
// ErrFieldTypeConflict; the server's message names the field.
func (c *Client) Write(ctx context.Context, bucket, org string, lines []byte) error {
	q := url.Values{"bucket": {bucket}, "precision": {"ns"}}
	if org != "" {
		q.Set("org", org)
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/api/v2/write", Query: q,
		Body: bytes.NewReader(lines), ContentType: "text/plain; charset=utf-8"})
	if err != nil {
		return fmt.Errorf("write to %s: %w", bucket, err)
	}
	return resp.Body.Close()
}

// Server is what a server says about itself.
type Server struct {
	URL     string  `json:"url"` // never carries credentials
	Version Version `json:"version"`
	Build   string  `json:"build,omitempty"` // X-Influxdb-Build: "OSS" on 1.x and 2.x
}

// Server reads the version from /ping's X-Influxdb-Version header (1.x and
// 2.x), or else from /health's "version" (1.8 built without version flags
// answers "unknown" on /ping), and parses it with ParseVersion: a 3.x server
// wraps ErrUnsupportedVersion.
func (c *Client) Server(ctx context.Context) (Server, error) {
	s := Server{URL: c.URL()}
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/ping"})
	if err != nil {
		return s, err
	}
	resp.Body.Close()
	raw := resp.Header.Get("X-Influxdb-Version")
	s.Build = resp.Header.Get("X-Influxdb-Build")
	if raw == "" || raw == "unknown" {
		var h struct {
			Version string `json:"version"`
		}
		if resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/health"}); err == nil {
			if json.NewDecoder(resp.Body).Decode(&h) == nil && h.Version != "" {
				raw = h.Version
			}
			resp.Body.Close()
		}
	}
	if s.Version, err = ParseVersion(raw); err != nil {
		return s, fmt.Errorf("%s: %w", c.URL(), err)
	}
	return s, nil
}
