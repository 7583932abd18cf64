package partitions_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/partitions"
)

func TestDetachModes(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	m := partitions.New(pool, fastOpts(at(t, "2037-03-01T00:00:00Z")))
	if _, err := m.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 3}); err != nil {
		t.Fatal(err)
	}
	err := m.WithTableLock(t.Context(), partitions.MonthlyTable, func(ctx context.Context, conn *pgx.Conn) error {
		// With a DEFAULT partition only a plain DETACH is possible; two go in one transaction.
		modes, err := m.DetachAll(ctx, conn, partitions.MonthlyTable, []string{"activity_logs_y2037m03", "activity_logs_y2037m04"})
		if err != nil {
			return err
		}
		if modes["activity_logs_y2037m03"] != partitions.DetachPlain || modes["activity_logs_y2037m04"] != partitions.DetachPlain {
			t.Errorf("with DEFAULT: %v", modes)
		}
		// Without one, CONCURRENTLY.
		if _, err := conn.Exec(ctx, "ALTER TABLE activity_logs DETACH PARTITION activity_logs_default"); err != nil {
			return err
		}
		mode, err := m.Detach(ctx, conn, partitions.MonthlyTable, "activity_logs_y2037m05")
		if err != nil || mode != partitions.DetachConcurrently {
			t.Errorf("without DEFAULT: %q, %v", mode, err)
		}
		// Already detached: nothing to do.
		if mode, err := m.Detach(ctx, conn, partitions.MonthlyTable, "activity_logs_y2037m05"); err != nil || mode != partitions.DetachNone {
			t.Errorf("again: %q, %v", mode, err)
		}
		for _, n := range []string{"activity_logs_y2037m03", "activity_logs_y2037m04", "activity_logs_y2037m05"} {
			if err := m.DropDetached(ctx, conn, n); err != nil {
				return err
			}
		}
		// A partition that is still attached is never dropped.
		if err := m.DropDetached(ctx, conn, "activity_logs_y2037m06"); err == nil {
			t.Error("DropDetached dropped an attached partition")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_class WHERE relname IN ('activity_logs_y2037m03', 'activity_logs_y2037m04', 'activity_logs_y2037m05')"); n != 0 {
		t.Errorf("%d detached tables left", n)
	}
}
