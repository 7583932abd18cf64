package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// backend is what the Provisioner needs from a search server. Bodies go in
// and come out as the engine's JSON: both engines share the shapes used here,
// and the Provisioner owns all decisions. Every method returns a *ServerError
// for an error answer (errors.Is(err, ErrNotFound) for 404) and wraps
// ErrUnreachable when no answer came.
type backend interface {
	putComponentTemplate(ctx context.Context, name string, body []byte) error
	getComponentTemplate(ctx context.Context, name string) ([]byte, error)
	putIndexTemplate(ctx context.Context, name string, body []byte) error
	getIndexTemplate(ctx context.Context, name string) ([]byte, error)

	createIndex(ctx context.Context, name string, body []byte) error
	getIndex(ctx context.Context, name string) ([]byte, error) // aliases, mappings, settings of name (index, alias or pattern)
	putMapping(ctx context.Context, index string, body []byte) error
	putSettings(ctx context.Context, index string, body []byte) error
	deleteIndex(ctx context.Context, name string) error
	getAlias(ctx context.Context, alias string) ([]byte, error) // {"index": {"aliases": {...}}}
	updateAliases(ctx context.Context, body []byte) error       // one atomic _aliases call
	rollover(ctx context.Context, alias string, body []byte) ([]byte, error)
	refresh(ctx context.Context, index string) error

	putDocument(ctx context.Context, index, id string, body []byte, refresh bool) error
	search(ctx context.Context, index string, body []byte, scroll time.Duration) ([]byte, error) // scroll 0: a plain search
	// searchShard is search limited to one shard of index (preference=_shards:N).
	searchShard(ctx context.Context, index string, shard int, body []byte, scroll time.Duration) ([]byte, error)
	scroll(ctx context.Context, scrollID string, keepAlive time.Duration) ([]byte, error)
	clearScroll(ctx context.Context, scrollID string) error
	mget(ctx context.Context, index string, body []byte) ([]byte, error)
	bulk(ctx context.Context, body []byte) ([]byte, error)
	// reindex starts a server-side _reindex task and returns its id; errNoHandler
	// when the distribution lacks the reindex module.
	reindex(ctx context.Context, body []byte) (string, error)
	task(ctx context.Context, id string) ([]byte, error)
	// reindexTasks lists the running _reindex tasks (GET _tasks?actions=*reindex&detailed).
	reindexTasks(ctx context.Context) ([]byte, error)
	// cancelTask cancels a task and waits until it has stopped.
	cancelTask(ctx context.Context, id string) error

	// addWriteBlock sets index.blocks.write through PUT index/_block/write,
	// which returns only once every write already in flight on the index has
	// finished: after it, the index cannot change.
	addWriteBlock(ctx context.Context, index string) ([]byte, error)
	// shardStats is GET index/_stats/docs?level=shards: per shard copy, its
	// sequence-number checkpoints.
	shardStats(ctx context.Context, index string) ([]byte, error)

	// lifecycle reports the engine's retention API: "ilm", "ism" or "" (none).
	lifecycle(ctx context.Context) (string, error)
	putPolicy(ctx context.Context, name string, body []byte) error
	getPolicy(ctx context.Context, name string) ([]byte, error)
}

// checkResponse turns an HTTP answer into nil or a *ServerError carrying the
// server's own reason (error.root_cause[0].reason).
func checkResponse(op string, status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	se := &ServerError{Op: op, Status: status}
	var doc struct {
		Error json.RawMessage `json:"error"`
		// Some answers (404 of a document, 404 of an alias) carry no error object.
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &doc) == nil && len(doc.Error) > 0 {
		var structured struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
			CausedBy *causedBy `json:"caused_by"`
		}
		var plain string
		switch {
		case json.Unmarshal(doc.Error, &plain) == nil:
			se.Reason = plain
		case json.Unmarshal(doc.Error, &structured) == nil:
			se.Type, se.Reason = structured.Type, structured.Reason
			if len(structured.RootCause) > 0 && structured.RootCause[0].Reason != "" {
				se.Type, se.Reason = structured.RootCause[0].Type, structured.RootCause[0].Reason
			}
			// The root cause of a rejected template is only "template after
			// composition is invalid"; the field at fault is at the end of the
			// caused_by chain.
			for c := structured.CausedBy; c != nil; c = c.CausedBy {
				if c.Reason != "" && c.CausedBy == nil && c.Reason != se.Reason {
					se.Cause = c.Reason
				}
			}
		}
	}
	if se.Reason == "" {
		se.Reason = doc.Message
	}
	if se.Reason == "" {
		se.Reason = http.StatusText(status)
	}
	return se
}

// unreachable marks a transport error (no answer) so callers can branch on it.
func unreachable(op string, err error) error {
	var se *ServerError
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("%s: %w: %w", op, ErrUnreachable, err)
}

// taskID reads the task id of an asynchronous request's answer.
func taskID(body []byte) (string, error) {
	var t struct {
		Task string `json:"task"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.Task == "" {
		return "", fmt.Errorf("no task id in answer %.200s", body)
	}
	return t.Task, nil
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode server answer: %w", err)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type causedBy struct {
	Type     string    `json:"type"`
	Reason   string    `json:"reason"`
	CausedBy *causedBy `json:"caused_by"`
}
