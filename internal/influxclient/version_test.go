package influxclient_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/quantx/quantx-db/internal/influxclient"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in    string
		major uint64
		err   error
	}{
		{"v2.7.12", 2, nil}, // what InfluxData's 2.x releases report
		{"2.7.12", 2, nil},  // a 2.x built from source without the tag
		{"v2.7.12+SNAPSHOT.abc", 2, nil},
		{"2.7.0-rc1", 2, nil},
		{"1.8.10", 1, nil},
		{"v1.8.10", 1, nil},
		{" 1.8 ", 1, nil},
		{"3.0.0", 3, influxclient.ErrUnsupportedVersion},
		{"v3.2.1", 3, influxclient.ErrUnsupportedVersion},
		{"0.13.0", 0, influxclient.ErrUnsupportedVersion},
		{"", 0, influxclient.ErrUnknownVersion},
		{"unknown", 0, influxclient.ErrUnknownVersion},
		{"dev", 0, influxclient.ErrUnknownVersion},
	} {
		v, err := influxclient.ParseVersion(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("ParseVersion(%q): error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if v.Major != tc.major {
			t.Errorf("ParseVersion(%q): major %d, want %d", tc.in, v.Major, tc.major)
		}
	}
	if v, _ := influxclient.ParseVersion("v2.7.12+SNAPSHOT.abc"); v.Minor != 7 || v.Patch != 12 || v.String() != "v2.7.12+SNAPSHOT.abc" {
		t.Errorf("v2.7.12+SNAPSHOT.abc read as %+v", v)
	}
	if _, err := influxclient.ParseVersion("3.0.0"); err == nil || err.Error() != "unsupported influxdb version: InfluxDB 3.0.0 (quantx-db supports 1.x and 2.x)" {
		t.Errorf("3.x message: %v", err)
	}
}

// TestServerVersionForms reads the version from /ping and /health as the
// releases send it. The test servers cover "1.8.10" and "v2.7.12" for real
// (TestServerReal); these are the forms no test server reports.
func TestServerVersionForms(t *testing.T) {
	for _, tc := range []struct {
		ping, health string
		major        uint64
		err          error
	}{
		{"2.7.12", "", 2, nil}, // 2.x built from source without the tag
		{"v2.7.12+SNAPSHOT.abc", "", 2, nil},
		{"unknown", "v2.7.11", 2, nil}, // /ping says nothing useful: /health's version counts
		{"", "1.8.10", 1, nil},
		{"3.0.1", "", 3, influxclient.ErrUnsupportedVersion},
		{"unknown", "unknown", 0, influxclient.ErrUnknownVersion},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/ping":
				if tc.ping != "" {
					w.Header().Set("X-Influxdb-Version", tc.ping)
				}
				w.WriteHeader(http.StatusNoContent)
			case "/health":
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"name":"influxdb","status":"pass","version":"` + tc.health + `"}`))
			default:
				http.NotFound(w, r)
			}
		}))
		c, err := influxclient.New(influxclient.Options{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Server(t.Context())
		srv.Close()
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("ping %q health %q: error %v, want %v", tc.ping, tc.health, err, tc.err)
			continue
		}
		if s.Version.Major != tc.major {
			t.Errorf("ping %q health %q: major %d, want %d", tc.ping, tc.health, s.Version.Major, tc.major)
		}
	}
}
