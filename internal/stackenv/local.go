package stackenv

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/quantx/quantx-db/scripts"
)

// runServices runs the embedded scripts/services with args. The scripts are
// written to the cache on every call, so the binary's own version runs
// rather than whatever an older binary left there.
func runServices(ctx context.Context, o Options, args ...string) error {
	dir := filepath.Join(o.Cache, "scripts")
	err := fs.WalkDir(scripts.Services, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(scripts.Services, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o755)
	})
	if err != nil {
		return fmt.Errorf("unpack scripts/services: %w", err)
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(dir, "services")}, args...)...)
	// The servers' output is progress, never the result: keep stdout clean
	// for `eval "$(quantx-db testenv up)"`.
	cmd.Stdout, cmd.Stderr = o.Progress, o.Progress
	cmd.Env = append(append(os.Environ(), o.Env...), "QUANTX_CACHE="+o.Cache)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/services %s: %w", args[0], err)
	}
	return nil
}
