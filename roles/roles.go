// Package roles gives the QuantX PostgreSQL schema its least-privilege roles and
// tells what a connected role can do. It is a library; `quantx-db roles ensure`,
// `quantx-db provision --roles` and `quantx-db doctor` are its callers.
//
// The model is three LOGIN roles, each also usable as a group (GRANT it to a
// person's own login role):
//
//   - the owner (default quantx_owner) owns every object of the schema. Migrations,
//     `partitions ensure` and `retention apply` run as it: ALTER, DROP, ATTACH and
//     DETACH need ownership, which no grant can replace.
//   - the app role (default quantx_app) has SELECT, INSERT, UPDATE and DELETE on the
//     application tables, USAGE and SELECT on their sequences, and nothing else: no
//     CREATE on the schema, no ownership, no TRUNCATE, and only SELECT on the
//     migration bookkeeping (schema_migrations, quantx_migration_history).
//   - the read-only role (default quantx_readonly) has SELECT.
//
// Default privileges of the owner in the schema give every table and sequence it
// creates later (a migration's new table, a partition made by `partitions ensure`)
// the same grants, so nothing has to be re-run after maintenance.
//
// Ensure converges the database to this model in one transaction and reports each
// statement it ran; a second run reports none. Passwords are optional: they are
// sent to the server as SCRAM-SHA-256 verifiers, never in clear text, so they
// cannot show up in the server's statement log.
package roles

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Default role names.
const (
	DefaultOwner    = "quantx_owner"
	DefaultApp      = "quantx_app"
	DefaultReadOnly = "quantx_readonly"
)

// DefaultBookkeeping are the tables that only the owner writes: the migration
// version (golang-migrate's) and the migration history.
var DefaultBookkeeping = []string{"schema_migrations", "quantx_migration_history"}

// Sentinel errors callers branch on.
var (
	// ErrInvalidName means a role name is empty, reserved, duplicated or too long.
	ErrInvalidName = errors.New("invalid role name")
	// ErrSuperuser means a role of the model exists as a superuser; Ensure never demotes one.
	ErrSuperuser = errors.New("role exists as a superuser")
	// ErrNotAdmin means the connected role may not create roles.
	ErrNotAdmin = errors.New("connected role cannot manage roles")
	// ErrSchemaMissing means the schema does not exist.
	ErrSchemaMissing = errors.New("schema does not exist")
)

// Kind is the part a role plays in the model.
type Kind string

// Kinds of role.
const (
	KindOwner    Kind = "owner"
	KindApp      Kind = "app"
	KindReadOnly Kind = "read-only"
)

// Options configures a Manager. The zero value of every field is a usable default.
type Options struct {
	Schema   string // "" means "public"
	Owner    string // "" means DefaultOwner
	App      string // "" means DefaultApp
	ReadOnly string // "" means DefaultReadOnly
	// Passwords, by kind. A missing or empty entry leaves the role's password as it
	// is (a new role gets none: it cannot log in with a password until one is set).
	Passwords map[Kind]string
	// Bookkeeping are the tables only the owner writes; nil means DefaultBookkeeping.
	Bookkeeping []string
	// LockTimeout bounds each lock Ensure waits for (ALTER ... OWNER takes an ACCESS
	// EXCLUSIVE lock on a table): it never queues in front of the application for
	// longer. As everywhere in quantx-db (and in PostgreSQL), 0 means off: wait as
	// long as it takes (negative counts as 0). The CLI's --roles-lock-timeout is 5s.
	LockTimeout time.Duration
	Logger      *slog.Logger // nil discards
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Owner == "" {
		o.Owner = DefaultOwner
	}
	if o.App == "" {
		o.App = DefaultApp
	}
	if o.ReadOnly == "" {
		o.ReadOnly = DefaultReadOnly
	}
	if o.Bookkeeping == nil {
		o.Bookkeeping = DefaultBookkeeping
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Manager converges one database to the roles model.
type Manager struct {
	pool *pgxpool.Pool
	o    Options
}

// New checks the role names and returns a Manager on pool. The caller owns the pool.
func New(pool *pgxpool.Pool, o Options) (*Manager, error) {
	if pool == nil {
		return nil, errors.New("roles: nil pool")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Manager{pool: pool, o: o.withDefaults()}, nil
}

// Validate checks the role names (after defaults) without a connection: they
// must be distinct, not reserved and at most 63 bytes.
func (o Options) Validate() error { return validate(o.withDefaults()) }

// Names returns the role name of each kind.
func (m *Manager) Names() map[Kind]string {
	return map[Kind]string{KindOwner: m.o.Owner, KindApp: m.o.App, KindReadOnly: m.o.ReadOnly}
}

func validate(o Options) error {
	seen := map[string]Kind{}
	for _, r := range []struct {
		kind Kind
		name string
	}{{KindOwner, o.Owner}, {KindApp, o.App}, {KindReadOnly, o.ReadOnly}} {
		lower := strings.ToLower(r.name)
		switch {
		case len(r.name) > 63:
			return fmt.Errorf("%s role %q: longer than 63 bytes: %w", r.kind, r.name, ErrInvalidName)
		case strings.HasPrefix(lower, "pg_"):
			return fmt.Errorf("%s role %q: names starting with pg_ are reserved: %w", r.kind, r.name, ErrInvalidName)
		case slices.Contains([]string{"public", "none", "current_user", "session_user", "current_role"}, lower):
			return fmt.Errorf("%s role %q: reserved name: %w", r.kind, r.name, ErrInvalidName)
		case strings.ContainsAny(r.name, "\x00"):
			return fmt.Errorf("%s role %q: contains NUL: %w", r.kind, r.name, ErrInvalidName)
		}
		if other, dup := seen[r.name]; dup {
			return fmt.Errorf("%s and %s roles are both %q: the model needs three distinct roles: %w", other, r.kind, r.name, ErrInvalidName)
		}
		seen[r.name] = r.kind
	}
	for _, t := range o.Bookkeeping {
		if t == "" {
			return errors.New("roles: empty bookkeeping table name")
		}
	}
	return nil
}

// Action is one statement Ensure ran (or, in a plan, would run).
type Action struct {
	Role   string `json:"role"`   // the role it concerns ("PUBLIC" for revokes from everyone)
	Kind   string `json:"kind"`   // one of the Action* constants
	Object string `json:"object"` // what it changes, e.g. "table public.orders"
	SQL    string `json:"sql"`    // the statement; a password is shown as '***'
}

// Action kinds.
const (
	ActionCreateRole        = "create_role"
	ActionAlterRole         = "alter_role"
	ActionPassword          = "password"
	ActionRevokeMembership  = "revoke_membership"
	ActionOwner             = "owner"
	ActionGrant             = "grant"
	ActionRevoke            = "revoke"
	ActionDefaultPrivileges = "default_privileges"
)

// Role describes one role of the model after a run.
type Role struct {
	Kind        Kind   `json:"kind"`
	Name        string `json:"name"`
	Created     bool   `json:"created"`      // did not exist before this run
	PasswordSet bool   `json:"password_set"` // this run set its password
}

// Report is what Ensure did, or with DryRun what it would do.
type Report struct {
	DryRun   bool     `json:"dry_run"`
	Database string   `json:"database"`
	Schema   string   `json:"schema"`
	Roles    []Role   `json:"roles"`
	Actions  []Action `json:"actions"`  // never nil; empty when the database already follows the model
	Changed  bool     `json:"changed"`  // actions were applied (false in a dry run)
	Warnings []string `json:"warnings"` // what Ensure cannot fix by itself
}
