package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/config"
)

// Open builds the Redis client the configuration asks for. The client type
// follows from the key that is set (url, sentinels or cluster), never from how
// many addresses are given.
func Open(c config.Redis) (redis.UniversalClient, error) {
	var tlsConf *tls.Config
	if c.TLS {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch {
	case len(c.Sentinels) > 0:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.MasterName, SentinelAddrs: c.Sentinels,
			Username: c.Username, Password: c.Password, SentinelPassword: c.SentinelPassword,
			TLSConfig: tlsConf,
		}), nil
	case len(c.Cluster) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Cluster, Username: c.Username, Password: c.Password, TLSConfig: tlsConf,
		}), nil
	default:
		o, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		if c.Username != "" {
			o.Username = c.Username
		}
		if c.Password != "" {
			o.Password = c.Password
		}
		if tlsConf != nil && o.TLSConfig == nil {
			o.TLSConfig = tlsConf
		}
		return redis.NewClient(o), nil
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
