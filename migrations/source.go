package migrations

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed sql/*.sql
var embedded embed.FS

// Files returns the QuantX schema migrations embedded in the binary.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "sql")
	if err != nil {
		panic(err) // "sql" is a constant folder of this package: cannot fail
	}
	return sub
}

// NoTransactionDirective, as the first line of a file, makes it run
// statement by statement outside a transaction.
const NoTransactionDirective = "-- quantx:no-transaction"

// Load reads every migration in src through golang-migrate's iofs driver,
// which validates the names (NNNN_name.up.sql) and rejects duplicates.
func Load(src fs.FS) ([]*Migration, error) {
	d, err := iofs.New(src, ".")
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	defer d.Close()
	names, err := fileNames(src)
	if err != nil {
		return nil, err
	}
	var out []*Migration
	v, err := d.First()
	for err == nil {
		m, lerr := loadVersion(d, v, names)
		if lerr != nil {
			return nil, lerr
		}
		out = append(out, m)
		v, err = d.Next(v)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return out, nil
}

// fileNames maps "version.direction" to the real file name, so errors can
// name the file the user edits (iofs only gives the identifier part).
func fileNames(src fs.FS) (map[string]string, error) {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	names := make(map[string]string, len(entries))
	for _, e := range entries {
		if m, err := source.Parse(e.Name()); err == nil {
			names[fmt.Sprintf("%d.%s", m.Version, m.Direction)] = e.Name()
		}
	}
	return names, nil
}

func loadVersion(d source.Driver, v uint, names map[string]string) (*Migration, error) {
	m := &Migration{Version: uint64(v)}
	up, name, err := readFile(d.ReadUp, v, "up", names)
	if err != nil {
		return nil, err
	}
	if up == nil {
		return nil, fmt.Errorf("load migrations: version %d has a down file but no up file", v)
	}
	m.Up, m.Name = up, name
	down, _, err := readFile(d.ReadDown, v, "down", names)
	if err != nil {
		return nil, err
	}
	m.Down = down
	return m, nil
}

func readFile(read func(uint) (io.ReadCloser, string, error), v uint, dir string, names map[string]string) (*File, string, error) {
	rc, ident, err := read(v)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load migration %d (%s): %w", v, dir, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, "", fmt.Errorf("load migration %d (%s): %w", v, dir, err)
	}
	text := string(b)
	return &File{
		Path:          names[fmt.Sprintf("%d.%s", v, dir)],
		SQL:           text,
		Checksum:      checksum(b),
		NoTransaction: strings.HasPrefix(strings.TrimLeft(text, "\ufeff"), NoTransactionDirective),
	}, ident, nil
}
