package leasesrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/failpoint"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
	_ "github.com/virtcloud/virtcloud/switchdrv/snmp" // registers "snmp"
	_ "github.com/virtcloud/virtcloud/switchdrv/ssh"  // registers "ssh"
)

// NewNetwork builds the network the configuration describes, on the
// switches of fleet. With no switches configured every host is
// pre-provisioned and a lease only reserves its VLAN.
func NewNetwork(cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet, log *slog.Logger) Network {
	if len(cfg.Switches) == 0 {
		return NoNetwork{}
	}
	return &SwitchNetwork{cfg: cfg, st: st, fleet: fleet, log: log}
}

// SwitchNetwork applies plans to switches as journaled transactions: the
// plan and intent go to Redis before any device is touched, the switches of
// a plan are changed in parallel, each under a per-switch lock re-checked
// with the lease's token right before the device write, and a failed apply
// undoes its completed steps in reverse.
type SwitchNetwork struct {
	cfg   *config.Config
	st    *store.Store
	fleet *switchdrv.Fleet // the drivers, shared with the reconciler
	log   *slog.Logger
}

func (n *SwitchNetwork) vlanName(sw string, vid int) string {
	return switchdrv.RenderName(n.cfg.Switches[sw].VLANName, vid)
}

// Needed reports whether the lease's plan touches any switch.
func (n *SwitchNetwork) Needed(l *api.Lease) bool {
	p, err := plan.For(n.cfg, l)
	return err != nil || len(p) > 0
}

// step is one switch's part of a transaction.
type step struct {
	sw     string
	change switchdrv.Change
}

// Apply configures a lease's plan. On failure it undoes what it did and
// returns the first error; the lease then fails.
func (n *SwitchNetwork) Apply(ctx context.Context, l *api.Lease) error {
	p, err := plan.For(n.cfg, l)
	if err != nil || len(p) == 0 {
		return err
	}
	var steps []step
	for _, sw := range p.Switches() {
		steps = append(steps, step{sw, switchdrv.Change{VLAN: l.VLAN, Name: n.vlanName(sw, l.VLAN), Add: p[sw]}})
	}
	j := &store.Journal{Job: l.Job, Token: l.Token, Intent: store.IntentApply, VLAN: l.VLAN, Plan: p, Started: time.Now().UTC()}
	if err := n.st.JournalBegin(ctx, j); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	failpoint.Hit("apply.after-journal")
	guard := n.inState(l, api.StateCommitting)
	started, err := n.run(ctx, l, "apply", guard, steps)
	if err == nil {
		return n.st.JournalEnd(ctx, l.Job)
	}
	if uerr := n.undo(context.WithoutCancel(ctx), l, p, started, guard); uerr != nil {
		n.log.Error("undo incomplete: the reconciler will remove what is left", "job", l.Job, "vlan", l.VLAN, "err", uerr)
		return errors.Join(err, uerr)
	}
	return errors.Join(err, n.st.JournalEnd(context.WithoutCancel(ctx), l.Job))
}

// undo removes, in reverse order, the steps an apply started.
func (n *SwitchNetwork) undo(ctx context.Context, l *api.Lease, p plan.Plan, started []string, guard guardFunc) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Server.SwitchTimeout.Duration*2)
	defer cancel()
	var errs []error
	for _, sw := range slices.Backward(started) {
		st := step{sw, switchdrv.Change{VLAN: l.VLAN, Name: n.vlanName(sw, l.VLAN), Remove: p[sw], Delete: true}}
		if err := n.do(ctx, l, guard, st); err != nil {
			errs = append(errs, err)
			continue
		}
		// Unrecorded, the step still reads "started" or "done": recovery
		// undoes it again, which is harmless, but the caller must hear of it.
		if err := n.st.JournalStep(ctx, l.Job, sw, store.StepUndone); err != nil {
			errs = append(errs, fmt.Errorf("switch %s: journal undone: %w", sw, err))
		}
	}
	return errors.Join(errs...)
}

// Teardown removes a lease's whole plan and the VLAN from its switches. It
// returns an error until every switch has answered; the caller retries.
func (n *SwitchNetwork) Teardown(ctx context.Context, l *api.Lease) error {
	p, err := plan.For(n.cfg, l)
	if err != nil || len(p) == 0 {
		return err
	}
	var steps []step
	for _, sw := range slices.Backward(p.Switches()) {
		steps = append(steps, step{sw, switchdrv.Change{VLAN: l.VLAN, Name: n.vlanName(sw, l.VLAN), Remove: p[sw], Delete: true}})
	}
	j := &store.Journal{Job: l.Job, Token: l.Token, Intent: store.IntentTeardown, VLAN: l.VLAN, Remove: p, Delete: p.Switches(), Started: time.Now().UTC()}
	if err := n.st.JournalBegin(ctx, j); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	failpoint.Hit("teardown.after-journal")
	// A teardown runs for a releasing lease, or for a committing one that is
	// being rolled back.
	if _, err := n.run(ctx, l, "teardown", n.inState(l, api.StateReleasing, api.StateCommitting), steps); err != nil {
		return err
	}
	return n.st.JournalEnd(ctx, l.Job)
}

// Move takes a lease's switches from its plan before a migration (from, as
// the switches carried it, residue included) to its plan after (to): new
// ports first, then the ports and switches it leaves. Every write is fenced
// by to's migration number.
func (n *SwitchNetwork) Move(ctx context.Context, from, to *api.Lease) error {
	pf, err := plan.For(n.cfg, from)
	if err != nil {
		return err
	}
	return n.move(ctx, pf, to)
}

// Resume finishes a migration a dead process left half done, or removes
// what a failed one left: every port of the lease's plan is added and its
// residue removed, both idempotent.
func (n *SwitchNetwork) Resume(ctx context.Context, l *api.Lease) error {
	return n.move(ctx, nil, l)
}

// move makes the switches carry to's plan where they carried from (nil: not
// known, so every port of to's plan is written again).
func (n *SwitchNetwork) move(ctx context.Context, from plan.Plan, to *api.Lease) error {
	target := *to
	target.Residue = nil
	pt, err := plan.For(n.cfg, &target)
	if err != nil {
		return err
	}
	carried, err := plan.For(n.cfg, to.Carried())
	if err != nil {
		return err
	}
	if from == nil {
		from = plan.Plan{}
	}
	add, _, _ := plan.Diff(from, pt)
	_, remove, gone := plan.Diff(plan.Merge(from, carried), pt)
	var adds, removes []step
	for _, sw := range add.Switches() {
		adds = append(adds, step{sw, switchdrv.Change{VLAN: to.VLAN, Name: n.vlanName(sw, to.VLAN), Add: add[sw]}})
	}
	for _, sw := range remove.Switches() {
		removes = append(removes, step{sw, switchdrv.Change{VLAN: to.VLAN, Name: n.vlanName(sw, to.VLAN), Remove: remove[sw], Delete: slices.Contains(gone, sw)}})
	}
	if len(adds)+len(removes) == 0 {
		return nil
	}
	guard := func(ctx context.Context, lock *store.Lock, sw string) error {
		return n.st.GuardMove(ctx, lock, to.Job, sw, to.Token, to.Move)
	}
	j := &store.Journal{Job: to.Job, Token: to.Token, Intent: store.IntentPatch, VLAN: to.VLAN, Plan: add, Remove: remove, Delete: gone, Started: time.Now().UTC()}
	if err := n.st.JournalBegin(ctx, j); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if started, err := n.run(ctx, to, "patch", guard, adds); err != nil {
		if uerr := n.undo(context.WithoutCancel(ctx), to, add, started, guard); uerr != nil {
			return errors.Join(err, uerr)
		}
		return errors.Join(err, n.st.JournalEnd(context.WithoutCancel(ctx), to.Job))
	}
	if _, err := n.run(ctx, to, "patch", guard, removes); err != nil {
		return err
	}
	return n.st.JournalEnd(ctx, to.Job)
}

// guardFunc re-checks, under switch sw's lock and right before the device
// write, that the write is still wanted, and then records the switch's
// journal step as started, in the same script.
type guardFunc func(ctx context.Context, lock *store.Lock, sw string) error

// inState guards the writes of a commit or teardown: the lease still has
// this token and one of the states.
func (n *SwitchNetwork) inState(l *api.Lease, states ...api.State) guardFunc {
	return func(ctx context.Context, lock *store.Lock, sw string) error {
		return n.st.GuardStep(ctx, lock, l.Job, sw, l.Token, states...)
	}
}

// run executes steps in parallel, bounded, and returns the switches whose
// step started (in start order) and the first error.
func (n *SwitchNetwork) run(ctx context.Context, l *api.Lease, op string, guard guardFunc, steps []step) ([]string, error) {
	var (
		mu      sync.Mutex
		started []string
		done    atomic.Int32
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n.cfg.Server.Parallel)
	for _, st := range steps {
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // another step failed: start nothing new
			}
			mu.Lock()
			started = append(started, st.sw)
			mu.Unlock()
			if err := n.do(gctx, l, guard, st); err != nil {
				// Unrecorded, the step stays "started": recovery then treats
				// it as possibly applied and undoes it, the safe side.
				if jerr := n.st.JournalStep(context.WithoutCancel(ctx), l.Job, st.sw, store.StepFailed); jerr != nil {
					err = errors.Join(err, fmt.Errorf("switch %s: journal failed: %w", st.sw, jerr))
				}
				n.record(ctx, l, op, st.sw, err)
				return err
			}
			n.record(ctx, l, op, st.sw, nil)
			failpoint.Hit(fmt.Sprintf("%s.after-step-%d", op, done.Add(1)))
			return nil
		})
	}
	err := g.Wait()
	return started, err
}

// do runs one step under the switch's lock, re-checking lock and lease
// and recording the step as started right before the device write.
func (n *SwitchNetwork) do(ctx context.Context, l *api.Lease, guard guardFunc, st step) error {
	sw := n.cfg.Switches[st.sw]
	drv, err := n.fleet.Driver(st.sw)
	if err != nil {
		return err
	}
	timeout := sw.Timeout.Duration
	lock, err := n.st.LockSwitch(ctx, st.sw, 2*timeout+5*time.Second)
	if err != nil {
		return err
	}
	defer func() {
		// A lock not released expires by itself after its TTL.
		if err := n.st.Unlock(context.WithoutCancel(ctx), lock); err != nil {
			n.log.Warn("switch lock not released, it expires", "switch", st.sw, "err", err)
		}
	}()
	if err := guard(ctx, lock, st.sw); err != nil {
		return fmt.Errorf("switch %s: not writing for lease %s: %w", st.sw, l.Job, err)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := drv.Apply(dctx, st.change); err != nil {
		return err
	}
	return n.st.JournalStep(ctx, l.Job, st.sw, store.StepDone)
}

func (n *SwitchNetwork) record(ctx context.Context, l *api.Lease, op, sw string, err error) {
	e := api.Event{At: time.Now().UTC(), Actor: "leasesrv", Action: op + " " + sw, Result: "ok"}
	if err != nil {
		e.Result, e.Detail = "error", oneLine(err)
	}
	// History is for people; a lost entry must not fail the transaction, but
	// it must not vanish silently either.
	if err := n.st.Record(context.WithoutCancel(ctx), l.Job, e); err != nil {
		n.log.Error("history entry lost", "job", l.Job, "action", e.Action, "result", e.Result, "err", err)
	}
}
