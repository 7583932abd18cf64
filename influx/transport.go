package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// do sends one request with the provisioner's credentials. Credentials go in
// headers, never in the URL: a URL ends up in error messages and logs.
func (p *Provisioner) do(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	u := *p.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case p.user != "":
		req.SetBasicAuth(p.user, p.pass)
	case p.token != "":
		req.Header.Set("Authorization", "Token "+p.token)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// *url.Error repeats the URL; keep only the cause, named by our clean base URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, p.base, err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		msg := serverMessage(resp)
		return nil, fmt.Errorf("%w at %s: %s", ErrUnauthorized, p.base, msg)
	}
	return resp, nil
}

// getJSON GETs path and decodes a 2xx JSON answer into v.
func (p *Provisioner) getJSON(ctx context.Context, path string, v any) error {
	resp, err := p.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: http %d: %s", path, resp.StatusCode, serverMessage(resp))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// serverMessage extracts {"error": ...} or {"message": ...} from a failed
// answer, or the first line of its body. It consumes and closes the body.
func serverMessage(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		if e.Message != "" {
			return e.Message
		}
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		s = resp.Status
	}
	return s
}
