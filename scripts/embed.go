// Package scripts embeds scripts/services and its per-server files, so that
// the quantx-db binary can start the local test servers (quantx-db testenv
// up) without a source checkout.
package scripts

import "embed"

// Services holds "services" and "services.d/*.sh".
//
//go:embed services services.d
var Services embed.FS
