package backup

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// shardLoads relays influxd restore's connections to the server's RPC address, to see when the server
// has finished loading each shard.
//
// influxd restore -portable (1.8) writes each shard's tar to its own connection and closes it without
// waiting for an answer (services/snapshotter Client.UploadShard), then exits 0. The server loads the
// shard after that, in the connection's goroutine (Service.updateShardsLive): it disables the shard,
// writes the files, closes and reopens it, enables it, and only then closes its end of the connection.
// Until then a query fails ("shard is disabled", "engine is closed") or, before the server has begun,
// answers from the shard as if it were empty. The server's close is the one signal the protocol gives
// that a shard is loaded: the relay waits for it on every shard connection.
type shardLoads struct {
	target      string
	dialTimeout time.Duration
	ln          net.Listener
	changed     chan struct{} // a load began or ended, or the server could not be reached

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	loading map[uint64]bool // the shard's ID on the server → still loading
	loaded  int
	err     error // the first failure to reach the server
}

// The services/snapshotter wire format of influxd 1.x: a connection starts with the mux header byte,
// then the request type; a shard upload (RequestShardUpdate) follows with the shard's ID on the server
// (8 bytes, big-endian), then the shard's tar.
const (
	snapshotterMuxHeader   = 3
	snapshotterShardUpdate = 7
)

// relayShardLoads listens on a loopback port for influxd restore; every connection is relayed to
// target. close ends it.
func relayShardLoads(target string, dialTimeout time.Duration) (*shardLoads, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay to %s: %w", target, err)
	}
	l := &shardLoads{target: target, dialTimeout: dialTimeout, ln: ln, changed: make(chan struct{}, 1),
		conns: map[net.Conn]struct{}{}, loading: map[uint64]bool{}}
	go l.accept()
	return l, nil
}

// addr is the address to give influxd restore as -host.
func (l *shardLoads) addr() string { return l.ln.Addr().String() }

// close stops listening and drops the connections still open (after a wait that timed out).
func (l *shardLoads) close() {
	l.ln.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func (l *shardLoads) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.relay(c)
	}
}

// relay copies one connection both ways. For a shard upload it records the shard as loading when the
// upload begins and as loaded when the server has closed its end.
func (l *shardLoads) relay(client net.Conn) {
	defer client.Close()
	d := net.Dialer{Timeout: l.dialTimeout}
	server, err := d.Dial("tcp", l.target)
	if err != nil {
		l.fail(err)
		return
	}
	defer server.Close()
	if !l.track(client, server) {
		return
	}
	defer l.untrack(client, server)

	head := make([]byte, 10)
	n, err := io.ReadFull(client, head[:2])
	if err != nil {
		return // influxd hung up before asking anything
	}
	shard, upload := uint64(0), head[0] == snapshotterMuxHeader && head[1] == snapshotterShardUpdate
	if upload {
		if _, err := io.ReadFull(client, head[2:]); err != nil {
			return
		}
		n, shard = len(head), binary.BigEndian.Uint64(head[2:])
		l.begin(shard)
	}
	if _, err := server.Write(head[:n]); err != nil {
		return
	}
	back := make(chan struct{})
	go func() {
		io.Copy(client, server)
		closeWrite(client)
		close(back)
	}()
	io.Copy(server, client)
	closeWrite(server) // influxd has sent everything: the server's reader sees the end
	<-back             // the server has closed its end: its handler has returned
	if upload {
		l.end(shard)
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

func (l *shardLoads) track(c ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		return false
	}
	for _, x := range c {
		l.conns[x] = struct{}{}
	}
	return true
}

func (l *shardLoads) untrack(c ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range c {
		delete(l.conns, x)
	}
}

func (l *shardLoads) begin(shard uint64) {
	l.mu.Lock()
	l.loading[shard] = true
	l.mu.Unlock()
	l.signal()
}

func (l *shardLoads) end(shard uint64) {
	l.mu.Lock()
	delete(l.loading, shard)
	l.loaded++
	l.mu.Unlock()
	l.signal()
}

func (l *shardLoads) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.signal()
}

func (l *shardLoads) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// dialErr is the first failure to reach the server through the relay, or nil.
func (l *shardLoads) dialErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// wait returns once the server has loaded want shards, or fails after timeout (0: 5 minutes) naming
// the shards it is still loading. Only the count tells that influxd's last connections, already
// closed by influxd, have all been accepted: a shard whose upload has not begun is in no list.
func (l *shardLoads) wait(ctx context.Context, want int, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	expire := time.NewTimer(timeout)
	defer expire.Stop()
	for {
		l.mu.Lock()
		loaded, loading, err := l.loaded, slices.Sorted(maps.Keys(l.loading)), l.err
		l.mu.Unlock()
		switch {
		case err != nil:
			return &rpcError{addr: l.target, timeout: l.dialTimeout, err: err}
		case loaded >= want && len(loading) == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.changed:
		case <-expire.C:
			msg := fmt.Sprintf("the server loaded %d of the backup's %d shards within %s", loaded, want, timeout)
			if len(loading) > 0 {
				ids := make([]string, len(loading))
				for i, id := range loading {
					ids[i] = strconv.FormatUint(id, 10)
				}
				msg += " (still loading shard " + strings.Join(ids, ", ") + ")"
			}
			return fmt.Errorf("%w: %s", ErrInfluxNotReady, msg)
		}
	}
}

// backupShards counts the shard files of database in the manifest influxd backup -portable wrote
// into dir (<timestamp>.manifest, JSON): the shards influxd restore uploads.
func backupShards(dir, database string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.manifest"))
	if err != nil {
		return 0, err
	}
	if len(names) != 1 {
		return 0, fmt.Errorf("the archive holds %d influxd manifests (*.manifest), want 1", len(names))
	}
	b, err := os.ReadFile(names[0])
	if err != nil {
		return 0, err
	}
	var m struct {
		Files []struct {
			Database string `json:"database"`
			ShardID  uint64 `json:"shardID"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Base(names[0]), err)
	}
	n := 0
	for _, f := range m.Files {
		if f.Database == database {
			n++
		}
	}
	return n, nil
}
