package config

import "log/slog"

// Secret is a password or token. It never prints itself: String, LogValue and
// JSON encoding all redact, so a Secret can be passed to a logger or an error
// without thinking. Reveal is the one way out; grep for it in review.
type Secret string

func (s Secret) String() string               { return redacted(string(s)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s Secret) Reveal() string               { return string(s) }

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// DSN is a connection URL that may carry a password (postgres://app:pw@host/db,
// http://user:pw@host:9200). It prints as postgres://app:***@host/db.
type DSN string

func (d DSN) String() string               { return Redact(string(d), connectionSecrets(string(d))...) }
func (d DSN) LogValue() slog.Value         { return slog.StringValue(d.String()) }
func (d DSN) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (d DSN) Reveal() string               { return string(d) }
