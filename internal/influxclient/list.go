package influxclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listPage is how many items List asks a 2.x list endpoint for at a time.
const listPage = 100

// List reads every item of a paged 2.x list endpoint, such as /api/v2/buckets (items under "buckets",
// paged by offset) or /api/v2/tasks (under "tasks", paged by the id of the last item), decoding each
// into a T. q holds the filters (orgID, name, ...).
func List[T any](ctx context.Context, c *Client, path, key string, q url.Values) ([]T, error) {
	var out []T
	byAfter := strings.HasSuffix(path, "/tasks")
	after, offset := "", 0
	for {
		pq := url.Values{"limit": {strconv.Itoa(listPage)}}
		for k, v := range q {
			pq[k] = v
		}
		if byAfter && after != "" {
			pq.Set("after", after)
		} else if !byAfter {
			pq.Set("offset", strconv.Itoa(offset))
		}
		resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: path, Query: pq, Retry: true})
		if err != nil {
			return nil, err
		}
		var page map[string]json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: decode answer: %w", path, err)
		}
		var items []json.RawMessage
		if raw, ok := page[key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("GET %s: %s: %w", path, key, err)
			}
		}
		for _, raw := range items {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("GET %s: %s item: %w", path, key, err)
			}
			out = append(out, v)
		}
		if len(items) < listPage {
			return out, nil
		}
		var last struct {
			ID string `json:"id"`
		}
		json.Unmarshal(items[len(items)-1], &last)
		after, offset = last.ID, offset+len(items)
	}
}
