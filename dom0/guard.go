package dom0

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// The classic-mode guard: a bridge-family nftables chain that drops every
// frame a guest port (interface group GuestGroup) sends with an 802.1Q,
// 802.1ad or old-style QinQ tag of its own. Without it such a frame would
// leave through <trunk>.<N> double-tagged, and a switch that strips the outer
// tag would deliver it into the VLAN the guest chose.
const (
	guardTable = "virtcloud"
	guardChain = "guest_tags"
)

var guardTypes = [][]byte{{0x81, 0x00}, {0x88, 0xa8}, {0x91, 0x00}}

func (h *Host) nft() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if h.ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(h.ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	return c, nil
}

// ensureGuard installs the guard chain unless it is there, complete.
func (h *Host) ensureGuard(ctx context.Context) error {
	if h.guarded.Load() {
		return nil
	}
	if err := whileModuleLoads(ctx, nftablesLoading, h.installGuard); err != nil {
		return err
	}
	h.guarded.Store(true)
	return nil
}

// installGuard is one nftables transaction that flushes the chain first, so
// concurrent installs leave exactly one copy of the rules.
func (h *Host) installGuard() error {
	c, err := h.nft()
	if err != nil {
		return err
	}
	table := &nftables.Table{Name: guardTable, Family: nftables.TableFamilyBridge}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyBridge)
	if err != nil {
		return fmt.Errorf("list nftables chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name == guardTable && ch.Name == guardChain {
			rules, err := c.GetRules(table, ch)
			if err != nil {
				return fmt.Errorf("list nftables rules: %w", err)
			}
			if len(rules) == len(guardTypes) {
				return nil
			}
		}
	}
	c.AddTable(table)
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{
		Name: guardChain, Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-200), Policy: &accept,
	})
	c.FlushChain(ch)
	for _, et := range guardTypes {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFGROUP, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(GuestGroup)},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: et},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("install nftables guard (bridge table %s): %w", guardTable, err)
	}
	h.log.Info("installed guard", "table", "bridge "+guardTable, "chain", guardChain)
	return nil
}
