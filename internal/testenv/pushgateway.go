package testenv

import (
	"context"
	"strings"
	"testing"
)

// PushgatewayServer is the Prometheus Pushgateway test server. It is shared by every test: a test
// owns the groups it pushes (its own job or grouping labels) and deletes them.
type PushgatewayServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:59091; the pushed series are at URL+"/metrics".
	URL string
}

// Pushgateway returns the Pushgateway test server, once it answers /-/ready.
func Pushgateway(t testing.TB) *PushgatewayServer {
	t.Helper()
	v := require(t, "pushgateway", "QUANTX_TEST_PUSHGATEWAY_URL")
	p := &PushgatewayServer{URL: strings.TrimRight(v[0], "/")}
	if err := httpProbe(context.Background(), p.URL+"/-/ready"); err != nil {
		unavailable(t, "pushgateway", err)
	}
	return p
}
