package main

import (
	"encoding/json"
	"testing"
)

// verdictDocT is the part every status verb's JSON document shares
// (statusVerdict), decoded with unknown keys refused.
type verdictDocT struct {
	CheckedAt   string     `json:"checked_at"`
	State       string     `json:"state"`
	NeedsAction bool       `json:"needs_action"`
	Errors      bool       `json:"errors"`
	Error       *errorBody `json:"error"`
}

// verdictKeys are the top-level keys of verdictDocT.
var verdictKeys = []string{"checked_at", "state", "needs_action", "errors", "error"}

// decodeStatus decodes a status verb's JSON document as T, with unknown keys
// refused, after checking its shared keys (decodeVerdict).
func decodeStatus[T any](t *testing.T, s string) T {
	t.Helper()
	_, v := decodeVerdict[T](t, s)
	return v
}

// decodeVerdict decodes a status verb's JSON document: the keys every status
// verb shares, and the rest as T, both with unknown keys refused.
func decodeVerdict[T any](t *testing.T, s string) (verdictDocT, T) {
	t.Helper()
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &all); err != nil {
		t.Fatalf("status document: %v\n%s", err, s)
	}
	var own map[string]json.RawMessage // the keys T has itself (checked_at, for some)
	if zero, err := json.Marshal(new(T)); err == nil {
		_ = json.Unmarshal(zero, &own)
	}
	head, rest := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for k, v := range all {
		shared := false
		for _, vk := range verdictKeys {
			shared = shared || k == vk
		}
		if shared {
			head[k] = v
			if _, ok := own[k]; !ok {
				continue
			}
		}
		rest[k] = v
	}
	hb, _ := json.Marshal(head)
	rb, _ := json.Marshal(rest)
	return decodeJSON[verdictDocT](t, string(hb)), decodeJSON[T](t, string(rb))
}
