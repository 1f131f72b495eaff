package leasesrv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/httpapi"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// storeWatch is what this server knows of the store's identity and history,
// so that it notices when Redis comes back empty (a restart without
// persistence, FLUSHALL) or rolled back (an old snapshot restored): the
// identity it started with and the highest fencing token it has seen.
type storeWatch struct {
	mu   sync.Mutex
	id   string
	high int64
	lost string     // why the store is not to be trusted; "" when it is
	kept storeState // what the state file holds
	// unexplained says why a store found empty at start is not trusted
	// (its identity is this server's own, so nothing else tells) until a
	// recovery writes a new identity.
	unexplained string
}

func (w *storeWatch) seen(token int64) {
	w.mu.Lock()
	w.high = max(w.high, token)
	w.mu.Unlock()
}

// judge compares what the store says now with what this server knows.
func (w *storeWatch) judge(now store.Identity) string {
	switch {
	case now.ID == "":
		return "the store has no identity: Redis lost its data (a restart without persistence, FLUSHALL)"
	case now.ID != w.id && now.ID != now.Recovered:
		return fmt.Sprintf("the store's identity changed from %s to %s: Redis lost its data or is another store", w.id, now.ID)
	case now.Fence < w.high:
		return fmt.Sprintf("the fencing counter is %d, below the %d this server has seen: Redis was rolled back (an old snapshot restored)", now.Fence, w.high)
	case now.ID == w.id:
		return w.unexplained
	}
	return ""
}

// initIdentity gives an uninitialised store its identity and starts the
// watch from it, or, when the state file remembers a store, from that one:
// a Redis that came back empty while this server was down is then found
// lost by the first check, since its fresh identity is not a recovery's.
// Without one, a store that is empty at start (no identity, no grant ever)
// is taken for a new installation only if the switches agree.
func (s *Service) initIdentity(ctx context.Context) error {
	id, created, err := s.st.InitIdentity(ctx)
	if err != nil {
		return err
	}
	var unexplained string
	if created && id.Fence == 0 {
		unexplained = s.liveOnSwitches(ctx)
	}
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	if s.watch.id != "" {
		return nil // already watching (a recovery syncs the pools again)
	}
	s.watch.id, s.watch.high = id.ID, max(s.watch.high, id.Fence)
	s.watch.unexplained = unexplained
	if f := s.cfg.Server.StateFile; f != "" {
		var kept storeState
		b, err := os.ReadFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err == nil && json.Unmarshal(b, &kept) == nil && kept.ID != "":
			s.watch.id, s.watch.high = kept.ID, max(s.watch.high, kept.Fence)
		default:
			return fmt.Errorf("server.state_file %s: unreadable (%v); remove it only if the store is known to be intact", f, err)
		}
	}
	return nil
}

// liveOnSwitches says why an empty store is not to be trusted when the
// switches carry VLANs of the managed ranges (they outlived the data that
// explained them: Redis lost it), or cannot be read to tell; "" when they
// carry none, as at a new installation.
func (s *Service) liveOnSwitches(ctx context.Context) string {
	if s.readSwitches == nil {
		return ""
	}
	const empty = "the store was empty at this server's start (no identity, no lease ever granted)"
	tables, err := s.readSwitches(ctx)
	if err != nil {
		return fmt.Sprintf("%s and the switches could not be read to tell a new installation from a Redis that lost its data: %v", empty, err)
	}
	orphans := s.orphans(tables)
	if len(orphans) == 0 {
		return ""
	}
	var found []string
	for _, o := range orphans {
		found = append(found, fmt.Sprintf("%s %d", o.Site, o.VLAN))
	}
	return fmt.Sprintf("%s, yet the switches carry VLANs of the managed ranges (%s): Redis lost its data", empty, strings.Join(found, ", "))
}

// storeState is the state file's content.
type storeState struct {
	ID    string `json:"identity"`
	Fence int64  `json:"fence"`
}

// keep writes what the watch knows to the state file, when there is one and
// it changed; the caller holds w.mu.
func (s *Service) keep(w *storeWatch) {
	f := s.cfg.Server.StateFile
	if f == "" || w.kept == (storeState{w.id, w.high}) {
		return
	}
	b, _ := json.Marshal(storeState{w.id, w.high})
	tmp := f + ".tmp"
	err := os.WriteFile(tmp, append(b, '\n'), 0o600)
	if err == nil {
		err = os.Rename(tmp, f)
	}
	if err != nil {
		s.log.Warn("cannot keep the store's identity in server.state_file", "file", f, "err", err)
		return
	}
	w.kept = storeState{w.id, w.high}
}

// CheckStore reads the store's identity and returns why it is not to be
// trusted, or "". A store once lost stays lost until a recovery (by this or
// another server) writes a new identity with the fencing counter no lower
// than this server has seen. The reaper runs it every interval.
func (s *Service) CheckStore(ctx context.Context) (string, error) {
	now, err := s.st.ReadIdentity(ctx)
	if err != nil {
		return "", err
	}
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	was := w.lost
	w.lost = w.judge(now)
	if w.lost == "" {
		if now.ID != w.id {
			s.log.Info("store recovered: this server takes the new identity", "identity", now.ID, "fence", now.Fence)
			w.unexplained = ""
		}
		w.id = now.ID
		if s.st.Policy().WaitReplicas == 0 {
			// With replicas, the primary's counter may include grants no
			// replica confirmed, which a failover rightly loses.
			w.high = max(w.high, now.Fence)
		}
		s.keep(w)
	}
	if w.lost != "" && was == "" {
		s.log.Error("store lost: refusing grants until an administrator runs `vcctl store recover`", "reason", w.lost)
	}
	s.metrics.setStoreLost(w.lost != "")
	return w.lost, nil
}

// StoreLost says why the store is not to be trusted, or "".
func (s *Service) StoreLost() string {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return s.watch.lost
}

func (s *Service) lostError() error {
	if why := s.StoreLost(); why != "" {
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: api.CodeStoreLost,
			Msg: "the lease store lost or rolled back its data (" + why + "); VLANs may still be live on switches, so none is granted until an administrator runs `vcctl store recover`"}
	}
	return nil
}

// SwitchReader reads every managed switch's VLANs, switch name -> VLANs.
type SwitchReader func(ctx context.Context) (map[string][]switchdrv.VLAN, error)

// SetSwitchReader gives the recovery and the first SyncPools their witness:
// the switches' VLAN tables.
func (s *Service) SetSwitchReader(r SwitchReader) { s.readSwitches = r }

// RecoverStore rebuilds a safe state after the store lost or rolled back its
// data: every VLAN the switches carry in a managed range that no lease holds
// is reserved as an orphan at its site (and on its L2 core when it is on an
// uplink) until an administrator removes it from the switches and recovers
// again; the fencing counter never goes below what this server has seen; a
// new identity is written, which every server takes.
func (s *Service) RecoverStore(ctx context.Context, actor string) (*api.StoreRecovery, error) {
	var orphans []store.Orphan
	if s.readSwitches != nil {
		tables, err := s.readSwitches(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: read the switches: %v", ErrNetworkFault, err)
		}
		orphans = s.orphans(tables)
	}
	s.watch.mu.Lock()
	high := s.watch.high
	s.watch.mu.Unlock()
	id, reserved, err := s.st.RecoverIdentity(ctx, high, orphans)
	if err != nil {
		return nil, err
	}
	if err := s.SyncPools(ctx); err != nil { // an emptied store has no pools
		return nil, err
	}
	s.watch.mu.Lock()
	s.watch.id, s.watch.high, s.watch.lost, s.watch.unexplained = id.ID, max(high, id.Fence), "", ""
	s.keep(&s.watch)
	s.watch.mu.Unlock()
	s.metrics.setStoreLost(false)
	s.log.Warn("store recovered", "actor", actor, "identity", id.ID, "fence", id.Fence, "orphans_reserved", len(reserved))
	out := &api.StoreRecovery{Identity: id.ID, Fence: id.Fence, Orphans: []api.Orphan{}}
	for _, o := range reserved {
		out.Orphans = append(out.Orphans, api.Orphan{Site: o.Site, Core: o.Core, VLAN: o.VLAN})
	}
	return out, nil
}

// orphans lists each site's VLANs in its pool that its switches carry, one
// per site and VLAN, with the core when any switch has it on an uplink.
func (s *Service) orphans(tables map[string][]switchdrv.VLAN) []store.Orphan {
	found := map[[2]any]string{}
	for name, vlans := range tables {
		sw := s.cfg.Switches[name]
		if sw == nil || s.cfg.Sites[sw.Site] == nil {
			continue
		}
		pool := s.cfg.SitePool(sw.Site)
		for _, v := range vlans {
			if !slices.Contains(pool, v.ID) {
				continue
			}
			k := [2]any{sw.Site, v.ID}
			core := found[k]
			for _, p := range append(slices.Clone(v.Tagged), v.Untagged...) {
				if slices.Contains(sw.Uplinks, p) {
					core = s.cfg.Sites[sw.Site].Core
				}
			}
			found[k] = core
		}
	}
	out := make([]store.Orphan, 0, len(found))
	for k, core := range found {
		out = append(out, store.Orphan{Site: k[0].(string), VLAN: k[1].(int), Core: core})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Site < out[j].Site || out[i].Site == out[j].Site && out[i].VLAN < out[j].VLAN
	})
	return out
}
