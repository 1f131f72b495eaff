package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/config"
)

// Open builds the Redis client the configuration asks for. The client type
// follows from the key that is set (url, sentinels or cluster), never from how
// many addresses are given.
//
// Every call is bounded by c.Timeout (DefaultTimeout when zero), retries
// included, and a script that waits for replicas by c.WaitTimeout more: a
// hung Redis (stopped, disk full, packets dropped) makes calls fail fast
// instead of holding requests and the hooks past their budget.
func Open(c config.Redis) (redis.UniversalClient, error) {
	rdb, err := open(c)
	if err != nil {
		return nil, err
	}
	d := c.Timeout.Duration
	if d <= 0 {
		d = DefaultTimeout
	}
	rdb.AddHook(deadline{call: d, pipeline: d + c.WaitTimeout.Duration})
	return rdb, nil
}

// DefaultTimeout bounds a store call when the configuration sets none.
const DefaultTimeout = time.Second

func open(c config.Redis) (redis.UniversalClient, error) {
	var tlsConf *tls.Config
	if c.TLS {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	// Deadlines come from the context (the deadline hook), so the socket
	// timeouts only need to be long enough for a WAIT on replicas.
	io := max(c.Timeout.Duration, DefaultTimeout) + c.WaitTimeout.Duration
	switch {
	case len(c.Sentinels) > 0:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.MasterName, SentinelAddrs: c.Sentinels,
			Username: c.Username, Password: c.Password.Reveal(), SentinelPassword: c.SentinelPassword.Reveal(),
			TLSConfig: tlsConf, ContextTimeoutEnabled: true, ReadTimeout: io, WriteTimeout: io,
		}), nil
	case len(c.Cluster) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Cluster, Username: c.Username, Password: c.Password.Reveal(), TLSConfig: tlsConf,
			ContextTimeoutEnabled: true, ReadTimeout: io, WriteTimeout: io,
		}), nil
	default:
		o, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		if c.Username != "" {
			o.Username = c.Username
		}
		if !c.Password.IsZero() {
			o.Password = c.Password.Reveal()
		}
		if tlsConf != nil && o.TLSConfig == nil {
			o.TLSConfig = tlsConf
		}
		o.ContextTimeoutEnabled, o.ReadTimeout, o.WriteTimeout = true, io, io
		return redis.NewClient(o), nil
	}
}

// deadline gives every command and pipeline a context deadline, which
// go-redis (ContextTimeoutEnabled) applies to the pool wait, the dial, the
// socket and its retries alike.
type deadline struct{ call, pipeline time.Duration }

func (deadline) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h deadline) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, h.call)
		defer cancel()
		return next(ctx, cmd)
	}
}

func (h deadline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, h.pipeline)
		defer cancel()
		return next(ctx, cmds)
	}
}

// Warnings checks the Redis server for settings that can lose leases: no AOF
// persistence, or a maxmemory policy that evicts keys.
func Warnings(ctx context.Context, rdb redis.UniversalClient) []string {
	var out []string
	get := func(name string) string {
		v, err := rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			return ""
		}
		return v[name]
	}
	if v := get("appendonly"); v != "yes" {
		out = append(out, "Redis has no AOF persistence (appendonly is "+quote(v)+"): a Redis restart can lose leases whose VLANs are configured on switches")
	}
	if v := get("maxmemory-policy"); v != "" && v != "noeviction" && !strings.HasPrefix(v, "volatile") {
		out = append(out, "Redis maxmemory-policy is "+v+": it may evict lease keys; use noeviction")
	}
	return out
}

func quote(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
