package metrics

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Job is the Pushgateway job of every push.
const Job = "quantx_db"

// PushTimeout bounds a push, also after ctx is cancelled: an interrupted run
// is pushed too, and a dead Pushgateway must not hold a cron job.
const PushTimeout = 10 * time.Second

// Push sends the series of the finished run to the Pushgateway at baseURL
// (http://host:9091), job Job, in the group {command="..."}; the command
// label moves from the series into the grouping key, as the Pushgateway
// requires.
//
// A successful run replaces its whole group (PUT): every figure is the
// last run's. Any other result replaces only the last-run and duration
// series (POST), so the group keeps the last success time and the figures of
// the last successful run, as the Prometheus guidance for batch jobs says. A
// user:password in baseURL is sent as basic authentication and never appears
// in an error.
func (r *Run) Push(ctx context.Context, baseURL string) error {
	if r.families == nil {
		return errors.New("metrics: Push before Finish")
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("metrics push URL: give http(s)://host:port of the Pushgateway")
	}
	user := u.User
	u.User = nil
	fams := withoutLabel(r.families, CommandLabel)
	if r.result != Success {
		fams = only(fams, LastRun.Name, Duration.Name)
	}
	p := push.New(u.String(), Job).Grouping(CommandLabel, r.command).
		Gatherer(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil })).
		Client(base64Grouping{client: &http.Client{Timeout: PushTimeout}, value: r.command})
	if user != nil {
		pw, _ := user.Password()
		p = p.BasicAuth(user.Username(), pw)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PushTimeout)
	defer cancel()
	if r.result == Success {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("push to %s: %w", u.Redacted(), err)
	}
	return nil
}

// withoutLabel returns copies of fams whose series lack the label name.
func withoutLabel(fams []*dto.MetricFamily, name string) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, mf := range fams {
		c := proto.Clone(mf).(*dto.MetricFamily)
		for _, m := range c.Metric {
			labels := m.Label[:0]
			for _, l := range m.Label {
				if l.GetName() != name {
					labels = append(labels, l)
				}
			}
			m.Label = labels
		}
		out = append(out, c)
	}
	return out
}

// only keeps the families with the given names.
func only(fams []*dto.MetricFamily, names ...string) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range fams {
		for _, n := range names {
			if mf.GetName() == n {
				out = append(out, mf)
			}
		}
	}
	return out
}

// base64Grouping sends the command's grouping label value base64-encoded,
// the encoding the Pushgateway documents for any value. The push package
// encodes a value without a '/' with url.QueryEscape, which turns the space
// of "retention apply" into a '+' that the Pushgateway keeps as a '+'
// ("retention+apply"; client_python #1064 is the same bug). A request whose
// URL does not end as expected is sent unchanged.
type base64Grouping struct {
	client *http.Client
	value  string
}

func (b base64Grouping) Do(req *http.Request) (*http.Response, error) {
	suffix := "/" + CommandLabel + "/" + url.QueryEscape(b.value)
	if prefix, ok := strings.CutSuffix(req.URL.EscapedPath(), suffix); ok {
		if p, err := url.PathUnescape(prefix); err == nil {
			req.URL.Path = p + "/" + CommandLabel + "@base64/" + base64.RawURLEncoding.EncodeToString([]byte(b.value))
			req.URL.RawPath = ""
		}
	}
	return b.client.Do(req)
}
