package influxclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Version is the version an InfluxDB server reports.
type Version struct {
	Raw   string `json:"raw"` // as the server wrote it: "1.8.10", "v2.7.12"
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Patch uint64 `json:"patch"`
}

// String is the version as the server reported it.
func (v Version) String() string { return v.Raw }

// ParseVersion reads the version of an InfluxDB server, in every form the
// releases write it: "1.8.10" (1.x), "v2.7.12" (2.x release builds stamp the
// git tag), "2.7.12" (2.x built from source without the tag), and with build
// metadata or a pre-release ("v2.7.12+SNAPSHOT.abc", "2.7.0-rc1"). 1.x and 2.x
// are supported; any other major version wraps ErrUnsupportedVersion, and a
// value that is not a version ("", "unknown", "dev") wraps ErrUnknownVersion.
//
// It is the only place quantx-db reads a server version: the provisioner, the
// backups and doctor all pick the 1.x or 2.x path from its Major.
func ParseVersion(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	sv, err := semver.NewVersion(raw) // accepts the "v", "1.8" shorthand, pre-release and build metadata
	if err != nil {
		return Version{Raw: raw}, fmt.Errorf("%w: %q", ErrUnknownVersion, raw)
	}
	v := Version{Raw: raw, Major: sv.Major(), Minor: sv.Minor(), Patch: sv.Patch()}
	if v.Major != 1 && v.Major != 2 {
		return v, fmt.Errorf("%w: InfluxDB %s (quantx-db supports 1.x and 2.x)", ErrUnsupportedVersion, raw)
	}
	return v, nil
}

// Sentinels of version detection.
var (
	ErrUnknownVersion     = errors.New("cannot tell the influxdb version")
	ErrUnsupportedVersion = errors.New("unsupported influxdb version")
)
