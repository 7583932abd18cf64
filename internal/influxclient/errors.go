package influxclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Sentinel errors callers branch on.
var (
	ErrBadURL            = errors.New("influx url: want http(s)://host:port")
	ErrUnreachable       = errors.New("influxdb is unreachable")
	ErrUnauthorized      = errors.New("influxdb refused the credentials")
	ErrFieldTypeConflict = errors.New("field type conflict")
)

// HTTPError is an answer with a status other than 2xx.
type HTTPError struct {
	Method, Path string
	Status       int    // HTTP status code
	Message      string // the server's message ({"error"}, {"message"} or the first line of the body)
	base         string
}

func (e *HTTPError) Error() string {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return fmt.Sprintf("%s (%d) at %s: %s", ErrUnauthorized, e.Status, e.base, e.Message)
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap makes a 401 or 403 errors.Is(err, ErrUnauthorized), and a refused
// write of a field with another type errors.Is(err, ErrFieldTypeConflict).
func (e *HTTPError) Unwrap() error {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrUnauthorized
	case strings.Contains(e.Message, "field type conflict"):
		return ErrFieldTypeConflict
	}
	return nil
}

// Transient reports whether err may go away on its own: no connection, or
// an answer of 500, 502, 503 or 504. Example: InfluxDB 2.7 answers a shard
// backup with 500 "snapshots disabled" when its shard monitor has just
// released a shard that a write then reached; the next monitor pass (at most
// 10 s later) enables snapshots again.
func Transient(err error) bool {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		switch he.Status {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return errors.Is(err, ErrUnreachable)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	he, ok := errors.AsType[*HTTPError](err)
	return ok && he.Status == http.StatusNotFound
}

// unreachableError is a request that got no answer.
type unreachableError struct {
	base, op string
	err      error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%s at %s: %v", ErrUnreachable, e.base, e.err)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

func newHTTPError(method, path, base string, resp *http.Response) *HTTPError {
	return &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Message: serverMessage(resp), base: base}
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
