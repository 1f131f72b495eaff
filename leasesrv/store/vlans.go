package store

import (
	"context"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
)

// VLANState is one pool VLAN of a site as the status page draws it.
type VLANState struct {
	VID   int
	State string // free, quarantined, or the state of the lease holding it
	Job   string // the holding lease; "" when free or quarantined
}

// VLANs reads the state of every VLAN in a site's pool, sorted by VID, in
// two pipelines: the pool, the used and quarantine sets, then the state of
// each holding lease. Like Pools it is a snapshot, not a transaction.
func (s *Store) VLANs(ctx context.Context, site string) ([]VLANState, error) {
	var pool *redis.StringSliceCmd
	var quar *redis.StringSliceCmd
	var used *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		pool = pl.SMembers(ctx, Prefix+"pool:"+site)
		quar = pl.ZRange(ctx, Prefix+"quar:"+site, 0, -1)
		used = pl.HGetAll(ctx, Prefix+"used:"+site)
		return nil
	})
	if err != nil {
		return nil, err
	}
	states := map[string]*redis.StringCmd{}
	if len(used.Val()) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, job := range used.Val() {
				states[job] = pl.HGet(ctx, leaseKey(job), "state")
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			return nil, err
		}
	}
	quarantined := map[string]bool{}
	for _, v := range quar.Val() {
		quarantined[v] = true
	}
	out := make([]VLANState, 0, len(pool.Val()))
	for _, v := range pool.Val() {
		vid, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		st := VLANState{VID: vid, State: "free"}
		if job, ok := used.Val()[v]; ok {
			st.Job, st.State = job, string(api.StateHeld)
			if c := states[job]; c != nil && c.Val() != "" {
				st.State = c.Val()
			}
		} else if quarantined[v] {
			st.State = "quarantined"
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b VLANState) int { return a.VID - b.VID })
	return out, nil
}
