package elastic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// openSearch talks to OpenSearch 2 through opensearch-go's request types.
// go-elasticsearch cannot be used here: its product check refuses any server
// that is not Elasticsearch.
type openSearch struct {
	c *opensearch.Client
}

func newOpenSearch(c conn) (*openSearch, error) {
	client, err := opensearch.NewClient(opensearch.Config{
		Addresses:    []string{c.addr},
		Username:     c.user,
		Password:     c.password,
		Transport:    c.transport,
		DisableRetry: true, // report an unreachable server at once
	})
	if err != nil {
		return nil, err
	}
	return &openSearch{c: client}, nil
}

// do runs one request and returns the body of a 2xx answer.
func (b *openSearch) do(ctx context.Context, op, method string, r opensearch.Request) ([]byte, error) {
	res, err := b.c.Do(ctx, method, r, nil)
	if res == nil {
		if err == nil {
			err = errors.New("no response")
		}
		return nil, unreachable(op, err)
	}
	var body []byte
	if res.Body != nil {
		defer res.Body.Close()
		if body, err = io.ReadAll(res.Body); err != nil {
			return nil, unreachable(op, err)
		}
	}
	return body, checkResponse(op, res.StatusCode, body)
}

// rawRequest is an opensearch.Request for plugin APIs whose typed bodies in
// opensearch-go drop fields we send (ISM's ism_template, for one).
type rawRequest struct {
	path string
	body []byte
}

func (r rawRequest) GetRequest(method string) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		body = rd(r.body)
	}
	req, err := http.NewRequest(method, r.path, body)
	if err != nil {
		return nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (b *openSearch) putComponentTemplate(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "put component template "+name, http.MethodPut, opensearchapi.ComponentTemplateCreateReq{ComponentTemplate: name, Body: rd(body)})
	return err
}

func (b *openSearch) getComponentTemplate(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get component template "+name, http.MethodGet, opensearchapi.ComponentTemplateGetReq{ComponentTemplate: name})
}

func (b *openSearch) putIndexTemplate(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "put index template "+name, http.MethodPut, opensearchapi.IndexTemplateCreateReq{IndexTemplate: name, Body: rd(body)})
	return err
}

func (b *openSearch) getIndexTemplate(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get index template "+name, http.MethodGet, opensearchapi.IndexTemplateGetReq{IndexTemplates: name})
}

func (b *openSearch) createIndex(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "create index "+name, http.MethodPut, opensearchapi.IndicesCreateReq{Index: name, Body: rd(body)})
	return err
}

func (b *openSearch) getIndex(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get index "+name, http.MethodGet, opensearchapi.IndicesGetReq{Indices: []string{name}})
}

func (b *openSearch) putMapping(ctx context.Context, index string, body []byte) error {
	_, err := b.do(ctx, "put mapping "+index, http.MethodPut, opensearchapi.MappingPutReq{Indices: []string{index}, Body: rd(body)})
	return err
}

func (b *openSearch) putSettings(ctx context.Context, index string, body []byte) error {
	_, err := b.do(ctx, "put settings "+index, http.MethodPut, opensearchapi.SettingsPutReq{Indices: []string{index}, Body: rd(body)})
	return err
}

func (b *openSearch) deleteIndex(ctx context.Context, name string) error {
	_, err := b.do(ctx, "delete index "+name, http.MethodDelete, opensearchapi.IndicesDeleteReq{Indices: []string{name}})
	return err
}

func (b *openSearch) getAlias(ctx context.Context, alias string) ([]byte, error) {
	return b.do(ctx, "get alias "+alias, http.MethodGet, opensearchapi.AliasGetReq{Alias: []string{alias}})
}

func (b *openSearch) updateAliases(ctx context.Context, body []byte) error {
	_, err := b.do(ctx, "update aliases", http.MethodPost, opensearchapi.AliasesReq{Body: rd(body)})
	return err
}

func (b *openSearch) rollover(ctx context.Context, alias string, body []byte) ([]byte, error) {
	return b.do(ctx, "rollover "+alias, http.MethodPost, opensearchapi.IndicesRolloverReq{Alias: alias, Body: rd(body)})
}

func (b *openSearch) refresh(ctx context.Context, index string) error {
	_, err := b.do(ctx, "refresh "+index, http.MethodPost, opensearchapi.IndicesRefreshReq{Index: []string{index}})
	return err
}

func (b *openSearch) putDocument(ctx context.Context, index, id string, body []byte, refresh bool) error {
	r := opensearchapi.IndexReq{Index: index, DocumentID: id, Body: rd(body)}
	if refresh {
		r.Params.Refresh = "true"
	}
	_, err := b.do(ctx, "index document "+id+" into "+index, http.MethodPut, r)
	return err
}

func (b *openSearch) search(ctx context.Context, index string, body []byte, scroll time.Duration) ([]byte, error) {
	t := true
	r := opensearchapi.SearchReq{Indices: []string{index}, Body: rd(body)}
	r.Params.Scroll = scroll
	r.Params.SeqNoPrimaryTerm = &t
	return b.do(ctx, "search "+index, http.MethodPost, r)
}

func (b *openSearch) searchShard(ctx context.Context, index string, shard int, body []byte, scroll time.Duration) ([]byte, error) {
	t := true
	r := opensearchapi.SearchReq{Indices: []string{index}, Body: rd(body)}
	r.Params.Scroll = scroll
	r.Params.SeqNoPrimaryTerm = &t
	r.Params.Preference = "_shards:" + strconv.Itoa(shard)
	return b.do(ctx, "search "+index+" shard "+strconv.Itoa(shard), http.MethodPost, r)
}

func (b *openSearch) scroll(ctx context.Context, scrollID string, keepAlive time.Duration) ([]byte, error) {
	r := opensearchapi.ScrollGetReq{ScrollID: scrollID}
	r.Params.Scroll = keepAlive
	return b.do(ctx, "scroll", http.MethodPost, r)
}

func (b *openSearch) clearScroll(ctx context.Context, scrollID string) error {
	_, err := b.do(ctx, "clear scroll", http.MethodDelete, opensearchapi.ScrollDeleteReq{ScrollIDs: []string{scrollID}})
	return err
}

func (b *openSearch) mget(ctx context.Context, index string, body []byte) ([]byte, error) {
	return b.do(ctx, "mget "+index, http.MethodPost, opensearchapi.MGetReq{Index: index, Body: rd(body)})
}

func (b *openSearch) bulk(ctx context.Context, body []byte) ([]byte, error) {
	return b.do(ctx, "bulk", http.MethodPost, opensearchapi.BulkReq{Body: rd(body)})
}

func (b *openSearch) reindex(ctx context.Context, body []byte) (string, error) {
	f := false
	r := opensearchapi.ReindexReq{Body: rd(body)}
	r.Params.WaitForCompletion = &f
	out, err := b.do(ctx, "reindex", http.MethodPost, r)
	if err != nil {
		return "", err
	}
	return taskID(out)
}

func (b *openSearch) task(ctx context.Context, id string) ([]byte, error) {
	return b.do(ctx, "get task "+id, http.MethodGet, opensearchapi.TasksGetReq{TaskID: id})
}

func (b *openSearch) addWriteBlock(ctx context.Context, index string) ([]byte, error) {
	return b.do(ctx, "add write block "+index, http.MethodPut, opensearchapi.IndicesBlockReq{Indices: []string{index}, Block: "write"})
}

// shardStats goes through a raw request: opensearch-go's IndicesStatsParams
// has no level parameter.
func (b *openSearch) shardStats(ctx context.Context, index string) ([]byte, error) {
	return b.do(ctx, "shard stats "+index, http.MethodGet, rawRequest{path: "/" + url.PathEscape(index) + "/_stats/docs?level=shards"})
}

func (b *openSearch) reindexTasks(ctx context.Context) ([]byte, error) {
	t := true
	r := opensearchapi.TasksListReq{}
	r.Params.Actions, r.Params.Detailed = []string{"*reindex"}, &t
	return b.do(ctx, "list reindex tasks", http.MethodGet, r)
}

func (b *openSearch) cancelTask(ctx context.Context, id string) error {
	t := true
	r := opensearchapi.TasksCancelReq{TaskID: id}
	r.Params.WaitForCompletion = &t
	_, err := b.do(ctx, "cancel task "+id, http.MethodPost, r)
	return err
}

// lifecycle probes the ISM plugin, which the integ-test zip does not ship.
func (b *openSearch) lifecycle(ctx context.Context) (string, error) {
	_, err := b.do(ctx, "ism policies", http.MethodGet, rawRequest{path: "/_plugins/_ism/policies"})
	switch {
	case err == nil:
		return "ism", nil
	case errors.Is(err, errNoHandler):
		return "", nil
	}
	return "", err
}

func (b *openSearch) putPolicy(ctx context.Context, name string, body []byte) error {
	// ISM updates need if_seq_no/if_primary_term of the stored policy.
	path := "/_plugins/_ism/policies/" + name
	cur, err := b.getPolicy(ctx, name)
	switch {
	case err == nil:
		var meta struct {
			SeqNo       int64 `json:"_seq_no"`
			PrimaryTerm int64 `json:"_primary_term"`
		}
		if err := jsonUnmarshal(cur, &meta); err != nil {
			return err
		}
		path += "?if_seq_no=" + itoa(meta.SeqNo) + "&if_primary_term=" + itoa(meta.PrimaryTerm)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	_, err = b.do(ctx, "put ism policy "+name, http.MethodPut, rawRequest{path: path, body: body})
	return err
}

func (b *openSearch) getPolicy(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get ism policy "+name, http.MethodGet, rawRequest{path: "/_plugins/_ism/policies/" + name})
}
