package elastic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// es8 talks to Elasticsearch 8 through go-elasticsearch's esapi requests. The
// client's product check (X-Elastic-Product on the first 2xx answer) is left
// on: pointing this backend at another product fails instead of corrupting it.
type es8 struct {
	c *elasticsearch.Client
}

func newES8(c conn) (*es8, error) {
	client, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{c.addr},
		Username:  c.user,
		Password:  c.password,
		Transport: c.transport,
		// Retries would hide an unreachable server for seconds; the CLI reports at once.
		DisableRetry: true,
	})
	if err != nil {
		return nil, err
	}
	return &es8{c: client}, nil
}

type esRequest interface {
	Do(ctx context.Context, t esapi.Transport) (*esapi.Response, error)
}

// do runs one request and returns the body of a 2xx answer.
func (b *es8) do(ctx context.Context, op string, r esRequest) ([]byte, error) {
	res, err := r.Do(ctx, b.c)
	if err != nil {
		return nil, unreachable(op, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, unreachable(op, err)
	}
	return body, checkResponse(op, res.StatusCode, body)
}

func rd(b []byte) io.Reader { return bytes.NewReader(b) }

func (b *es8) putComponentTemplate(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "put component template "+name, esapi.ClusterPutComponentTemplateRequest{Name: name, Body: rd(body)})
	return err
}

func (b *es8) getComponentTemplate(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get component template "+name, esapi.ClusterGetComponentTemplateRequest{Name: []string{name}})
}

func (b *es8) putIndexTemplate(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "put index template "+name, esapi.IndicesPutIndexTemplateRequest{Name: name, Body: rd(body)})
	return err
}

func (b *es8) getIndexTemplate(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get index template "+name, esapi.IndicesGetIndexTemplateRequest{Name: name})
}

func (b *es8) createIndex(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "create index "+name, esapi.IndicesCreateRequest{Index: name, Body: rd(body)})
	return err
}

func (b *es8) getIndex(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get index "+name, esapi.IndicesGetRequest{Index: []string{name}})
}

func (b *es8) putMapping(ctx context.Context, index string, body []byte) error {
	_, err := b.do(ctx, "put mapping "+index, esapi.IndicesPutMappingRequest{Index: []string{index}, Body: rd(body)})
	return err
}

func (b *es8) putSettings(ctx context.Context, index string, body []byte) error {
	_, err := b.do(ctx, "put settings "+index, esapi.IndicesPutSettingsRequest{Index: []string{index}, Body: rd(body)})
	return err
}

func (b *es8) deleteIndex(ctx context.Context, name string) error {
	_, err := b.do(ctx, "delete index "+name, esapi.IndicesDeleteRequest{Index: []string{name}})
	return err
}

func (b *es8) getAlias(ctx context.Context, alias string) ([]byte, error) {
	return b.do(ctx, "get alias "+alias, esapi.IndicesGetAliasRequest{Name: []string{alias}})
}

func (b *es8) updateAliases(ctx context.Context, body []byte) error {
	_, err := b.do(ctx, "update aliases", esapi.IndicesUpdateAliasesRequest{Body: rd(body)})
	return err
}

func (b *es8) rollover(ctx context.Context, alias string, body []byte) ([]byte, error) {
	return b.do(ctx, "rollover "+alias, esapi.IndicesRolloverRequest{Alias: alias, Body: rd(body)})
}

func (b *es8) refresh(ctx context.Context, index string) error {
	_, err := b.do(ctx, "refresh "+index, esapi.IndicesRefreshRequest{Index: []string{index}})
	return err
}

func (b *es8) putDocument(ctx context.Context, index, id string, body []byte, refresh bool) error {
	r := esapi.IndexRequest{Index: index, DocumentID: id, Body: rd(body)}
	if refresh {
		r.Refresh = "true"
	}
	_, err := b.do(ctx, "index document "+id+" into "+index, r)
	return err
}

func (b *es8) search(ctx context.Context, index string, body []byte, scroll time.Duration) ([]byte, error) {
	t := true
	return b.do(ctx, "search "+index, esapi.SearchRequest{Index: []string{index}, Body: rd(body), Scroll: scroll, SeqNoPrimaryTerm: &t})
}

func (b *es8) searchShard(ctx context.Context, index string, shard int, body []byte, scroll time.Duration) ([]byte, error) {
	t := true
	return b.do(ctx, "search "+index+" shard "+strconv.Itoa(shard), esapi.SearchRequest{Index: []string{index}, Body: rd(body), Scroll: scroll,
		SeqNoPrimaryTerm: &t, Preference: "_shards:" + strconv.Itoa(shard)})
}

func (b *es8) scroll(ctx context.Context, scrollID string, keepAlive time.Duration) ([]byte, error) {
	return b.do(ctx, "scroll", esapi.ScrollRequest{ScrollID: scrollID, Scroll: keepAlive})
}

func (b *es8) clearScroll(ctx context.Context, scrollID string) error {
	_, err := b.do(ctx, "clear scroll", esapi.ClearScrollRequest{ScrollID: []string{scrollID}})
	return err
}

func (b *es8) mget(ctx context.Context, index string, body []byte) ([]byte, error) {
	return b.do(ctx, "mget "+index, esapi.MgetRequest{Index: index, Body: rd(body)})
}

func (b *es8) bulk(ctx context.Context, body []byte) ([]byte, error) {
	return b.do(ctx, "bulk", esapi.BulkRequest{Body: rd(body)})
}

func (b *es8) reindex(ctx context.Context, body []byte) (string, error) {
	f := false
	out, err := b.do(ctx, "reindex", esapi.ReindexRequest{Body: rd(body), WaitForCompletion: &f})
	if err != nil {
		return "", err
	}
	return taskID(out)
}

func (b *es8) task(ctx context.Context, id string) ([]byte, error) {
	return b.do(ctx, "get task "+id, esapi.TasksGetRequest{TaskID: id})
}

func (b *es8) addWriteBlock(ctx context.Context, index string) ([]byte, error) {
	return b.do(ctx, "add write block "+index, esapi.IndicesAddBlockRequest{Index: []string{index}, Block: "write"})
}

func (b *es8) shardStats(ctx context.Context, index string) ([]byte, error) {
	return b.do(ctx, "shard stats "+index, esapi.IndicesStatsRequest{Index: []string{index}, Metric: []string{"docs"}, Level: "shards"})
}

func (b *es8) reindexTasks(ctx context.Context) ([]byte, error) {
	t := true
	return b.do(ctx, "list reindex tasks", esapi.TasksListRequest{Actions: []string{"*reindex"}, Detailed: &t})
}

func (b *es8) cancelTask(ctx context.Context, id string) error {
	t := true
	_, err := b.do(ctx, "cancel task "+id, esapi.TasksCancelRequest{TaskID: id, WaitForCompletion: &t})
	return err
}

// lifecycle probes ILM: the integ-test distribution has no x-pack ILM and
// answers GET /_ilm/status with 400/405.
func (b *es8) lifecycle(ctx context.Context) (string, error) {
	_, err := b.do(ctx, "ilm status", esapi.ILMGetStatusRequest{})
	switch {
	case err == nil:
		return "ilm", nil
	case errors.Is(err, errNoHandler):
		return "", nil
	}
	return "", err
}

func (b *es8) putPolicy(ctx context.Context, name string, body []byte) error {
	_, err := b.do(ctx, "put ilm policy "+name, esapi.ILMPutLifecycleRequest{Policy: name, Body: rd(body)})
	return err
}

func (b *es8) getPolicy(ctx context.Context, name string) ([]byte, error) {
	return b.do(ctx, "get ilm policy "+name, esapi.ILMGetLifecycleRequest{Policy: name})
}
