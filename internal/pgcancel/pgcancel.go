// Package pgcancel makes a cancelled context cancel the server's work, not only the client's wait.
//
// pgx's default reaction to a cancelled context is to put a deadline on the socket and close it. A
// PostgreSQL backend that is waiting in a lock queue, or running a long statement, does not notice that
// its client went away: it keeps its place in the queue and the locks it already holds until it next
// writes to the socket. After Ctrl-C on `partitions ensure` waiting for DEFAULT, that was a backend
// holding SHARE on activity_logs, which blocks every insert of the application until the blocker ended.
// With Configure, a cancelled context first sends the server a cancel request for the running statement,
// and closes the socket only if the server has not answered within a few seconds. The statement then
// fails with the server's query_canceled error (SQLSTATE 57014) rather than context.Canceled: callers
// that must tell an interruption apart check ctx.Err(), as the CLI's exit-code mapping does.
package pgcancel

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// closeAfter is how long the server has to act on the cancel request before the socket is closed.
const closeAfter = 5 * time.Second

// Configure makes connections built from c send a cancel request when their context is cancelled.
func Configure(c *pgconn.Config) {
	c.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: closeAfter}
	}
}

// Connect is pgx.Connect with Configure applied.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	Configure(&cfg.Config)
	return pgx.ConnectConfig(ctx, cfg)
}
