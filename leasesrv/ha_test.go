//go:build redisha

// Redis high availability, run by the redis-ha phase on its own (it kills
// servers and waits for failovers): a Sentinel group losing its primary under
// load, and a three-primary Redis Cluster.
package leasesrv_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// redisProc starts redis-server (or redis-sentinel) with a config file.
func redisProc(t *testing.T, bin, dir, conf string) *exec.Cmd {
	t.Helper()
	os.MkdirAll(dir, 0o700)
	f := filepath.Join(dir, "redis.conf")
	os.WriteFile(f, []byte(conf+fmt.Sprintf("\ndir %s\nlogfile %s\n", dir, filepath.Join(dir, "log"))), 0o600)
	cmd := exec.Command(bin, f)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitPing(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for range 100 {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redis at %s did not start", addr)
}

// waitReplicas waits until the primary has n replicas in sync, so WAIT can
// be answered from the first request on.
func waitReplicas(t *testing.T, primary string, n int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: primary})
	defer c.Close()
	for range 200 {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Count(info, "state=online") >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the replicas of %s did not come in sync", primary)
}

func TestSentinelFailoverUnderLoad(t *testing.T) {
	base := t.TempDir()
	ports := make([]int, 6)
	for i := range ports {
		ports[i] = redistest.FreePort(t)
	}
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	primary := redisProc(t, "redis-server", filepath.Join(base, "p"), fmt.Sprintf("port %d\nbind 127.0.0.1\nappendonly yes\nsave \"\"\nrepl-diskless-sync-delay 0", ports[0]))
	waitPing(t, addr(0))
	for i := 1; i <= 2; i++ {
		redisProc(t, "redis-server", filepath.Join(base, fmt.Sprint("r", i)),
			fmt.Sprintf("port %d\nbind 127.0.0.1\nappendonly yes\nsave \"\"\nreplicaof 127.0.0.1 %d", ports[i], ports[0]))
		waitPing(t, addr(i))
	}
	waitReplicas(t, addr(0), 2)
	var sentinels []string
	for i := 3; i < 6; i++ {
		redisProc(t, "redis-sentinel", filepath.Join(base, fmt.Sprint("s", i)), fmt.Sprintf(
			"port %d\nbind 127.0.0.1\nsentinel monitor vc 127.0.0.1 %d 2\nsentinel down-after-milliseconds vc 1000\nsentinel failover-timeout vc 5000",
			ports[i], ports[0]))
		waitPing(t, addr(i))
		sentinels = append(sentinels, addr(i))
	}
	rc := &config.Redis{Sentinels: sentinels, MasterName: "vc", WaitReplicas: 1, WaitTimeout: config.Duration{Duration: time.Second}}
	srv := leasetest.Start(t, leasetest.Options{Config: benchConfig, RedisConfig: rc, RealClock: true})
	ctx := context.Background()

	var (
		mu        sync.Mutex
		confirmed = map[string]bool{}
		lastOK    atomic.Int64
		worstGap  atomic.Int64
		stop      atomic.Bool
	)
	lastOK.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := srv.Client(leasetest.AdminToken)
			for i := 0; !stop.Load(); i++ {
				job := fmt.Sprintf("fo-%d-%d", w, i)
				hosts := benchHosts[i%4]
				rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				l, _, err := c.Create(rctx, client.CreateRequest{Job: job, Hosts: hosts, TTLSeconds: 3600})
				if err == nil {
					l, err = c.Commit(rctx, job, l.Token)
				}
				cancel()
				now := time.Now().UnixNano()
				if err == nil && l.State == api.StateActive {
					mu.Lock()
					confirmed[job] = true
					mu.Unlock()
					if gap := now - lastOK.Swap(now); gap > worstGap.Load() {
						worstGap.Store(gap)
					}
					// Keep the pools from running dry: release most.
					// Once a release is asked for, the lease is no longer
					// promised to stay, whatever the answer.
					if i%10 != 0 {
						mu.Lock()
						delete(confirmed, job)
						mu.Unlock()
						rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
						c.Release(rctx, job, l.Token)
						cancel()
					}
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	primary.Process.Kill()
	killedAt := time.Now()
	// Wait until the sentinels promoted a replica and the API answers again.
	for time.Since(killedAt) < 40*time.Second && time.Duration(time.Now().UnixNano()-lastOK.Load()) > 0 && lastOK.Load() < killedAt.UnixNano() {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // load on the new primary
	stop.Store(true)
	wg.Wait()
	gap := time.Duration(worstGap.Load())
	t.Logf("the API refused requests for at most %s around the failover", gap.Round(10*time.Millisecond))
	fmt.Printf("BENCH failover_refused_s=%.2f\n", gap.Seconds())
	if lastOK.Load() < killedAt.UnixNano() {
		t.Fatalf("no request succeeded after the primary was killed (%s ago)", time.Since(killedAt))
	}
	if gap > 30*time.Second {
		t.Fatalf("the API refused requests for %s", gap)
	}
	checkStore(t, srv, confirmed)
}

// checkStore: every confirmed lease is there and active, and no VLAN belongs
// to two live leases at one site.
func checkStore(t *testing.T, srv *leasetest.Server, confirmed map[string]bool) {
	t.Helper()
	ls, err := srv.Svc.Store().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byJob := map[string]api.Lease{}
	owner := map[string]string{}
	for _, l := range ls {
		byJob[l.Job] = l
		if !l.State.Live() {
			continue
		}
		for _, s := range l.Sites {
			k := fmt.Sprintf("%s/%d", s, l.VLAN)
			if o, dup := owner[k]; dup {
				t.Errorf("VLAN %d at %s belongs to %s and %s", l.VLAN, s, o, l.Job)
			}
			owner[k] = l.Job
		}
	}
	for job := range confirmed {
		if l, ok := byJob[job]; !ok || l.State != api.StateActive {
			t.Errorf("confirmed lease %s is %+v after the failover", job, l.State)
		}
	}
	t.Logf("%d confirmed leases checked, %d leases in the store", len(confirmed), len(ls))
}

func TestRedisCluster(t *testing.T) {
	base := t.TempDir()
	var nodes []string
	for i := range 3 {
		port := redistest.FreePort(t)
		dir := filepath.Join(base, fmt.Sprint("n", i))
		redisProc(t, "redis-server", dir, fmt.Sprintf("port %d\nbind 127.0.0.1\ncluster-enabled yes\ncluster-config-file %s\nappendonly yes\nsave \"\"",
			port, filepath.Join(dir, "nodes.conf")))
		a := fmt.Sprintf("127.0.0.1:%d", port)
		waitPing(t, a)
		nodes = append(nodes, a)
	}
	out, err := exec.Command("redis-cli", append([]string{"--cluster", "create"}, append(nodes, "--cluster-yes")...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	defer c.Close()
	for range 100 {
		info, _ := c.ClusterInfo(context.Background()).Result()
		if strings.Contains(info, "cluster_state:ok") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv := leasetest.Start(t, leasetest.Options{RedisConfig: &config.Redis{Cluster: nodes}})
	ctx := context.Background()
	cl := srv.Client(leasetest.SchedulerToken)
	a := srv.Activate("c1.pbs", "skirit82-1", "skurut9-1")
	b := srv.Activate("c2.pbs", "skirit82-1")
	if a.VLAN == b.VLAN {
		t.Fatalf("one VLAN for two leases at brno: %d", a.VLAN)
	}
	if _, err := cl.Renew(ctx, a.Job, a.Token, 7200); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Release(ctx, b.Job, b.Token); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(3 * time.Hour)
	srv.Reap()
	if got := srv.Get(a.Job); got.State != api.StateReleased || got.Reason != "expired" {
		t.Fatalf("expiry on the cluster: %+v", got)
	}
	pools, err := cl.Pools(ctx)
	if err != nil || len(pools) != 3 {
		t.Fatalf("pools on the cluster: %v %v", pools, err)
	}
	checkStore(t, srv, nil)
}
