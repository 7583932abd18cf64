package backup

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSnapshotter stands for influxd 1.x's RPC service: it reads each connection to its end, answers
// with reply, and closes it unless hold is set (a server still loading a shard).
func fakeSnapshotter(t *testing.T, reply []byte, hold bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Write(reply)
				if hold {
					mu.Lock()
					held = append(held, c)
					mu.Unlock()
					return
				}
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// upload sends what influxd restore sends for one shard, and closes without waiting for an answer
// (a relay that cannot reach the server may hang up first: the write's error is not the test's).
func upload(t *testing.T, addr string, shard uint64) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	head := []byte{snapshotterMuxHeader, snapshotterShardUpdate, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(head[2:], shard)
	c.Write(append(head, bytes.Repeat([]byte("tar"), 1000)...))
}

// TestShardLoadsWait: the relay's wait returns once the server has closed every shard connection,
// names the shards the server is still loading when it gives up, and counts shards whose upload never
// came; a request that is not a shard upload is relayed both ways intact.
func TestShardLoadsWait(t *testing.T) {
	t.Parallel()
	t.Run("loaded", func(t *testing.T) {
		t.Parallel()
		l, err := relayShardLoads(fakeSnapshotter(t, []byte("id map"), false), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		// A meta update: request and answer go through.
		c, err := net.Dial("tcp", l.addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{snapshotterMuxHeader, 6, '{', '}'})
		c.(*net.TCPConn).CloseWrite()
		if got, err := io.ReadAll(c); err != nil || string(got) != "id map" {
			t.Errorf("meta answer %q (%v), want %q", got, err, "id map")
		}
		c.Close()
		upload(t, l.addr(), 41)
		upload(t, l.addr(), 42)
		if err := l.wait(t.Context(), 2, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("still loading", func(t *testing.T) {
		t.Parallel()
		l, err := relayShardLoads(fakeSnapshotter(t, nil, true), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		upload(t, l.addr(), 42)
		err = l.wait(t.Context(), 1, 500*time.Millisecond)
		if !errors.Is(err, ErrInfluxNotReady) || !strings.Contains(err.Error(), "loaded 0 of the backup's 1 shards") || !strings.Contains(err.Error(), "still loading shard 42") {
			t.Fatalf("wait: %v, want ErrInfluxNotReady naming shard 42", err)
		}
	})
	t.Run("missing upload", func(t *testing.T) {
		t.Parallel()
		l, err := relayShardLoads(fakeSnapshotter(t, nil, false), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		upload(t, l.addr(), 7)
		err = l.wait(t.Context(), 2, 500*time.Millisecond)
		if !errors.Is(err, ErrInfluxNotReady) || !strings.Contains(err.Error(), "loaded 1 of the backup's 2 shards") || strings.Contains(err.Error(), "still loading") {
			t.Fatalf("wait: %v, want ErrInfluxNotReady: 1 of 2 loaded, none loading", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		l, err := relayShardLoads("127.0.0.1:1", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		upload(t, l.addr(), 7)
		if err := l.wait(t.Context(), 1, 10*time.Second); !errors.Is(err, ErrRPCUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Fatalf("wait: %v, want ErrRPCUnreachable naming 127.0.0.1:1", err)
		}
	})
}
