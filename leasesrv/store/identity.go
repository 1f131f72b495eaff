package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Identity is what tells a store that kept its data from one that lost or
// rolled it back: a random ID written at first initialisation (and anew by
// each recovery, which also sets Recovered to it) and the fencing counter,
// which only ever grows in a store that keeps its data.
type Identity struct {
	ID        string // "" when the key is missing: Redis lost its data
	Recovered string // the ID the last recovery wrote
	Fence     int64
}

// InitIdentity writes an identity when the store has none and returns the
// store's identity; created says this call wrote it.
func (s *Store) InitIdentity(ctx context.Context) (id Identity, created bool, err error) {
	r, err := s.run(ctx, "initid", Prefix+"id", newID())
	if err != nil {
		return Identity{}, false, err
	}
	f, err := strconv.ParseInt(r.arg(1), 10, 64)
	if err != nil || r.arg(0) == "" {
		return Identity{}, false, r.unexpected()
	}
	return Identity{ID: r.arg(0), Fence: f}, r.arg(2) == "1", nil
}

// ReadIdentity reads the identity in one round trip.
func (s *Store) ReadIdentity(ctx context.Context) (Identity, error) {
	v, err := s.rdb.MGet(ctx, Prefix+"id", Prefix+"recovered", Prefix+"fence").Result()
	if err != nil {
		return Identity{}, err
	}
	get := func(i int) string { x, _ := v[i].(string); return x }
	f, _ := strconv.ParseInt(get(2), 10, 64)
	return Identity{ID: get(0), Recovered: get(1), Fence: f}, nil
}

// Orphan is a VLAN a switch carries in a managed range that no lease
// explains; Core is set when it is on an uplink of that L2 core.
type Orphan struct {
	Site, Core string
	VLAN       int
}

// RecoverIdentity rebuilds a safe state after a loss: the fencing counter is
// raised to at least minFence, the orphans are reserved (those of an earlier
// recovery no longer given are freed) and a new identity is written. It
// returns the new identity and the orphans it reserved (those a live lease
// holds are not).
func (s *Store) RecoverIdentity(ctx context.Context, minFence int64, orphans []Orphan) (Identity, []Orphan, error) {
	id := newID()
	// The orphans go as a list of site, core, vid triples.
	triples := make([]string, 0, 3*len(orphans))
	for _, o := range orphans {
		triples = append(triples, o.Site, o.Core, strconv.Itoa(o.VLAN))
	}
	r, err := s.run(ctx, "recoverstore", Prefix+"id", id, minFence, triples)
	if err != nil {
		return Identity{}, nil, err
	}
	f, err := strconv.ParseInt(r.arg(0), 10, 64)
	if err != nil || len(r.raw)%3 != 1 {
		return Identity{}, nil, r.unexpected()
	}
	reserved := []Orphan{}
	for i := 1; i+2 < len(r.raw); i += 3 {
		vid, err := strconv.Atoi(r.arg(i + 2))
		if err != nil {
			return Identity{}, nil, r.unexpected()
		}
		reserved = append(reserved, Orphan{Site: r.arg(i), Core: r.arg(i + 1), VLAN: vid})
	}
	return Identity{ID: id, Recovered: id, Fence: f}, reserved, nil
}

func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("random identity: %v", err))
	}
	return hex.EncodeToString(b)
}
