package leasesrv_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// TestSoak: 64 clients run mixed lease operations (create, commit, renew,
// release, forced release, leases left to expire) against a real Redis and
// two emulated switches. At the end the invariants hold, the server's heap is
// within 20 % of its size after warm-up, and no goroutine leaked.
// VIRTCLOUD_SOAK_OPS sets the number of operations (make soak: 100000).
func TestSoak(t *testing.T) {
	ops := 4000
	if v, err := strconv.Atoi(os.Getenv("VIRTCLOUD_SOAK_OPS")); err == nil {
		ops = v
	}
	praha, err := sshemu.Start(sshemu.Config{Dialect: "cisco-ios", Hostname: "praha-sw1"})
	if err != nil {
		t.Fatal(err)
	}
	defer praha.Close()
	plzen, err := sshemu.Start(sshemu.Config{Dialect: "junos", Hostname: "plzen-sw1"})
	if err != nil {
		t.Fatal(err)
	}
	defer plzen.Close()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeKnownHosts(kh, praha, plzen)
	cfg := leasetest.Config + fmt.Sprintf(`
[switches.praha-sw1]
site = "praha"
driver = "ssh"
dialect = "cisco-ios"
address = %q
username = "admin"
password = "secret"
known_hosts = %q
uplinks = ["Gi1/0/48"]
[switches.plzen-sw1]
site = "plzen"
driver = "ssh"
dialect = "junos"
address = %q
username = "admin"
password = "secret"
known_hosts = %q
uplinks = ["ge-0/0/47"]
`, praha.Addr(), kh, plzen.Addr(), kh)
	cfg = strings.Replace(cfg, "[hosts.skurut9-1]\nsite = \"praha\"", "[hosts.skurut9-1]\nsite = \"praha\"\nswitch = \"praha-sw1\"\nport = \"Gi1/0/9\"", 1)
	cfg = strings.Replace(cfg, "[hosts.konos23-1]\nsite = \"plzen\"", "[hosts.konos23-1]\nsite = \"plzen\"\nswitch = \"plzen-sw1\"\nport = \"ge-0/0/23\"", 1)
	cfg = strings.Replace(cfg, `quarantine = "10m"`, `quarantine = "50ms"`, 1)
	cfg = strings.Replace(cfg, `min_ttl = "1m"`, `min_ttl = "1s"`, 1)
	srv := leasetest.Start(t, leasetest.Options{Config: cfg, RealClock: true})
	ctx, cancel := context.WithCancel(context.Background())
	reaperDone := make(chan struct{})
	go func() { srv.Svc.RunReaper(ctx, 100*time.Millisecond); close(reaperDone) }()

	hostSets := [][]string{{"skirit82-1"}, {"skirit83-1"}, {"skirit82-1", "skirit83-1"}, {"skurut9-1"}, {"konos23-1"}, {"skirit82-1", "skurut9-1"}}
	var done atomic.Int64
	var heapWarm, goroutinesWarm atomic.Uint64
	warm := int64(ops / 10)
	var warmOnce sync.Once
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			c := srv.Client(leasetest.AdminToken)
			for i := 0; done.Load() < int64(ops); i++ {
				job := fmt.Sprintf("soak-%d-%d", w, i)
				hosts := hostSets[rng.IntN(len(hostSets))]
				ttl := int64(3600)
				if rng.IntN(10) == 0 {
					ttl = 1 // left to expire
				}
				l, _, err := c.Create(ctx, client.CreateRequest{Job: job, Hosts: hosts, TTLSeconds: ttl})
				if done.Add(1) >= warm && heapWarm.Load() == 0 {
					warmOnce.Do(func() {
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						heapWarm.Store(ms.HeapAlloc)
						goroutinesWarm.Store(uint64(runtime.NumGoroutine()))
					})
				}
				if err != nil {
					continue // pool exhausted at a busy moment: fine
				}
				if _, err := c.WaitActive(ctx, job, l.Token); err != nil {
					done.Add(1)
					continue
				}
				done.Add(1)
				switch r := rng.IntN(10); {
				case ttl == 1:
				case r < 2:
					c.Renew(ctx, job, l.Token, 7200)
					c.Release(ctx, job, l.Token)
					done.Add(2)
				case r < 4:
					c.ForceRelease(ctx, job)
					done.Add(1)
				default:
					c.Release(ctx, job, l.Token)
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(1500 * time.Millisecond) // the short leases expire
	waitQuiet(t, srv.Svc.Store(), 60*time.Second)
	cancel()
	<-reaperDone
	srv.Svc.Wait()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d operations; heap %d KiB after warm-up, %d KiB at the end; goroutines %d, %d",
		done.Load(), heapWarm.Load()>>10, ms.HeapAlloc>>10, goroutinesWarm.Load(), runtime.NumGoroutine())
	if float64(ms.HeapAlloc) > 1.2*float64(heapWarm.Load()) && ms.HeapAlloc-heapWarm.Load() > 4<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", heapWarm.Load()>>10, ms.HeapAlloc>>10)
	}
	// Everything the workers started has ended: the goroutines left are the
	// server's, its idle connections' and the test's own.
	if g := runtime.NumGoroutine(); g > int(goroutinesWarm.Load()) {
		t.Errorf("goroutines: %d after warm-up, %d at the end", goroutinesWarm.Load(), g)
	}
	f := &fabric{Fleet: srv.Fleet}
	checkInvariants(t, srv.Cfg, srv.Svc.Store(), f.Fleet, nil)
	ls, _ := srv.Svc.Store().List(context.Background())
	for _, l := range ls {
		if l.State == api.StateActive && l.ExpiresAt.Before(time.Now().Add(-2*time.Second)) {
			t.Errorf("lease %s is active past its expiry", l.Job)
		}
	}
}
