package redistest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Failover is a Redis under Sentinel: a primary, a replica of it, and
// sentinels that monitor the primary under the name Master and promote
// the replica when the primary is gone.
type Failover struct {
	Master    string
	Primary   *Server
	Replica   *Server
	Sentinels []*Server
	// Certs are those of every process, with TLS.
	Certs    *Certs
	certsDir string
	link     *link
}

// DownAfter is how long the sentinels of StartFailover wait before they
// take a silent primary for down: short, for tests.
const DownAfter = time.Second

// StartFailover starts a primary, a replica and n sentinels (a quorum of
// n/2+1), and waits until the sentinels see the replica. The replica
// replicates through a proxy of the test, so that CutReplication can
// make it miss writes.
// With withTLS, every process speaks TLS only, with the same Certs.
func StartFailover(n int, withTLS bool) (*Failover, error) {
	f := &Failover{Master: "rrrtest"}
	var err error
	opts := Options{}
	if withTLS {
		if f.certsDir, err = os.MkdirTemp("", "rrr-certs-"); err != nil {
			return nil, err
		}
		if f.Certs, err = MakeCerts(f.certsDir); err != nil {
			f.Stop()
			return nil, err
		}
		opts = Options{TLS: true, Certs: f.Certs}
	}
	if f.Primary, err = Start(opts); err != nil {
		f.Stop()
		return nil, err
	}
	if f.link, err = newLink(f.Primary.Addr); err != nil {
		f.Stop()
		return nil, err
	}
	opts.ReplicaOf = f.link.addr()
	if f.Replica, err = Start(opts); err != nil {
		f.Stop()
		return nil, err
	}
	if err := f.waitSynced(); err != nil {
		f.Stop()
		return nil, err
	}
	host, port, _ := strings.Cut(f.Primary.Addr, ":")
	for range n {
		s, err := startSentinel(f.Certs, fmt.Sprintf("sentinel monitor %s %s %s %d\n", f.Master, host, port, n/2+1)+
			fmt.Sprintf("sentinel down-after-milliseconds %s %d\n", f.Master, DownAfter.Milliseconds())+
			fmt.Sprintf("sentinel failover-timeout %s 3000\n", f.Master)+
			fmt.Sprintf("sentinel parallel-syncs %s 1\n", f.Master))
		if err != nil {
			f.Stop()
			return nil, err
		}
		f.Sentinels = append(f.Sentinels, s)
	}
	// Ready: every sentinel knows the replica and the other sentinels, or
	// a failover would have nothing to promote, or no quorum.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range f.Sentinels {
		sc := f.sentinelClient(s)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			replicas, _ := sc.Replicas(ctx, f.Master).Result()
			peers, _ := sc.Sentinels(ctx, f.Master).Result()
			cancel()
			if len(replicas) > 0 && len(peers) >= n-1 {
				break
			}
			if time.Now().After(deadline) {
				_ = sc.Close()
				f.Stop()
				return nil, fmt.Errorf("sentinel %s does not see the replica and %d other sentinels within 30s", s.Addr, n-1)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = sc.Close()
	}
	return f, nil
}

// waitSynced waits until the replica has its first copy of the primary.
func (f *Failover) waitSynced() error {
	rdb := f.Replica.Client()
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, _ := rdb.Info(ctx, "replication").Result()
		cancel()
		if strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s is not in sync with %s within 30s", f.Replica.Addr, f.Primary.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *Failover) sentinelClient(s *Server) *redis.SentinelClient {
	return redis.NewSentinelClient(s.options())
}

func startSentinel(certs *Certs, conf string) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("redis-server not found: install it (apt-get install -y redis-server redis-sentinel) or set RRR_REDIS_SERVER")
	}
	dir, err := os.MkdirTemp("", "rrr-sentinel-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "sentinel.conf")
		// Sentinel rewrites its file: it must be its own and writable.
		listen := "port " + strconv.Itoa(port) + "\n"
		if certs != nil {
			listen = "port 0\ntls-port " + strconv.Itoa(port) + "\ntls-cert-file " + certs.ServerCert +
				"\ntls-key-file " + certs.ServerKey + "\ntls-ca-cert-file " + certs.CA +
				"\ntls-auth-clients no\ntls-replication yes\n"
		}
		if err := os.WriteFile(path, []byte(listen+"bind 127.0.0.1\ndir "+dir+
			"\nlogfile "+filepath.Join(dir, "redis.log")+"\nprotected-mode no\n"+conf), 0o600); err != nil {
			return nil, err
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, args: []string{bin, path, "--sentinel"}, Certs: certs}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// URL is the redis+sentinel:// URL of database 0 of the primary.
func (f *Failover) URL() string {
	addrs := make([]string, len(f.Sentinels))
	for i, s := range f.Sentinels {
		addrs[i] = s.Addr
	}
	scheme := "redis+sentinel"
	if f.Certs != nil {
		scheme = "rediss+sentinel"
	}
	return scheme + "://" + strings.Join(addrs, ",") + "/" + f.Master + "/0"
}

// PrimaryAddr is the address the first sentinel that answers gives for
// the primary now.
func (f *Failover) PrimaryAddr(ctx context.Context) (string, error) {
	var lastErr error
	for _, s := range f.Sentinels {
		sc := f.sentinelClient(s)
		addr, err := sc.GetMasterAddrByName(ctx, f.Master).Result()
		_ = sc.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel names the primary of %s: %w", f.Master, lastErr)
}

// CutReplication makes the replica miss every write of the primary from
// now on, while both stay up and the replica believes itself in sync: as
// when asynchronous replication lags behind the primary that dies.
func (f *Failover) CutReplication() { f.link.cut.Store(true) }

// Stop stops every process and removes their directories.
func (f *Failover) Stop() {
	if f.link != nil {
		f.link.close()
	}
	if f.certsDir != "" {
		defer os.RemoveAll(f.certsDir)
	}
	for _, s := range f.Sentinels {
		s.Stop()
	}
	for _, s := range []*Server{f.Replica, f.Primary} {
		if s != nil {
			s.Stop()
		}
	}
}

// link is a TCP proxy to a server whose bytes towards the client can be
// dropped.
type link struct {
	l      net.Listener
	target string
	cut    atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newLink(target string) (*link, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := &link{l: l, target: target}
	go k.serve()
	return k, nil
}

func (k *link) addr() string { return k.l.Addr().String() }

func (k *link) serve() {
	for {
		c, err := k.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", k.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		k.mu.Lock()
		k.conns = append(k.conns, c, s)
		k.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 && !k.cut.Load() {
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			_ = c.Close()
		}()
	}
}

func (k *link) close() {
	_ = k.l.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.conns {
		_ = c.Close()
	}
}

// OwnFailover is StartFailover for a test, stopped when it ends; it skips
// the test (or fails it, see Required) when the servers cannot start.
func OwnFailover(t testing.TB, n int, withTLS bool) *Failover {
	t.Helper()
	fo, err := StartFailover(n, withTLS)
	if err != nil {
		if Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(fo.Stop)
	return fo
}
