package partitions

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrWouldFail marks a dry run whose real run would fail: the connected role
// may not do the work the dry run found. Dry runs check this so that they
// predict the real run instead of promising what it cannot do.
var ErrWouldFail = errors.New("the real run would fail")

// CheckOwner says whether the connected role may run DDL on schema.table
// (ATTACH, DETACH, DROP of its partitions): PostgreSQL requires its owner or
// a member of the owner's role.
func CheckOwner(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, schema, table string) error {
	var member bool
	var role, owner string
	err := q.QueryRow(ctx, `SELECT pg_has_role(current_user, c.relowner, 'USAGE'), current_user, pg_get_userbyid(c.relowner)
FROM pg_class c WHERE c.oid = to_regclass($1)`, pgx.Identifier{schema, table}.Sanitize()).Scan(&member, &role, &owner)
	if err != nil {
		return fmt.Errorf("check privileges on %s: %w", table, err)
	}
	if !member {
		return fmt.Errorf("%w: role %s does not own %s (owned by %s): only its owner can attach, detach or drop its partitions", ErrWouldFail, role, table, owner)
	}
	return nil
}

// checkCreate says whether the connected role may create tables in schema.
func checkCreate(ctx context.Context, q querier, schema string) error {
	var ok bool
	var role string
	if err := q.QueryRow(ctx, `SELECT has_schema_privilege(current_user, $1, 'CREATE'), current_user`, schema).Scan(&ok, &role); err != nil {
		return fmt.Errorf("check privileges on schema %s: %w", schema, err)
	}
	if !ok {
		return fmt.Errorf("%w: role %s may not create tables in schema %s", ErrWouldFail, role, schema)
	}
	return nil
}
