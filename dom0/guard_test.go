package dom0

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"

	"github.com/virtcloud/virtcloud/dom0/internal/nstest"
)

// TestGuardAsNftablesReadsIt installs the guard in a namespace of its own
// on this kernel and reads it back: the chain and its three rules are
// exactly the nft rules the guard stands for, and installing again, or over
// a chain that lost a rule, leaves one copy.
func TestGuardAsNftablesReadsIt(t *testing.T) {
	ns := nstest.New(t)
	h := hostIn(t, testConfig(t, ModeClassic), ns)
	// A Host of the namespace it runs in, as vc-dom0 makes it, installs
	// the same chain.
	if err := ns.Do(func() error {
		here, err := New(testConfig(t, ModeClassic), Options{})
		if err != nil {
			return err
		}
		defer here.Close()
		return here.ensureGuard(context.Background()) // the first use may load modules
	}); err != nil {
		t.Fatalf("guard in this process's namespace: %v", err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.NS)))
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Name: guardTable, Family: nftables.TableFamilyBridge}
	var want [][]expr.Any
	for _, et := range guardTypes {
		want = append(want, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFGROUP, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(GuestGroup)},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: et},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		})
	}
	check := func(when string) {
		t.Helper()
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyBridge)
		if err != nil {
			t.Fatalf("%s: list chains: %v", when, err)
		}
		var ch *nftables.Chain
		for _, x := range chains {
			if x.Table.Name == guardTable && x.Name == guardChain {
				ch = x
			}
		}
		if ch == nil || ch.Type != nftables.ChainTypeFilter || *ch.Hooknum != *nftables.ChainHookPrerouting ||
			*ch.Priority != *nftables.ChainPriorityRef(-200) || *ch.Policy != nftables.ChainPolicyAccept {
			t.Fatalf("%s: chain %+v", when, ch)
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			t.Fatalf("%s: rules: %v", when, err)
		}
		var got [][]expr.Any
		for _, r := range rules {
			got = append(got, r.Exprs)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: rules\n%#v\nwant\n%#v", when, got, want)
		}
	}
	check("installed")
	ctx := context.Background()
	if err := h.ensureGuard(ctx); err != nil {
		t.Fatal(err)
	}
	check("installed again, through the namespace's handle")
	rules, err := c.GetRules(table, &nftables.Chain{Name: guardChain, Table: table})
	if err != nil || len(rules) == 0 {
		t.Fatalf("rules: %v %v", rules, err)
	}
	if err := c.DelRule(rules[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := h.installGuard(); err != nil {
		t.Fatal(err)
	}
	check("a rule deleted, installed again")
}
