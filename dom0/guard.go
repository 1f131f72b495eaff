package dom0

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The classic-mode guard: a bridge-family nftables chain that drops every
// frame a guest port (interface group GuestGroup) sends with an 802.1Q,
// 802.1ad or old-style QinQ tag of its own. Without it such a frame would
// leave through <trunk>.<N> double-tagged, and a switch that strips the outer
// tag would deliver it into the VLAN the guest chose. It is, in nft's words:
//
//	table bridge virtcloud {
//	  chain guest_tags {
//	    type filter hook prerouting priority -200; policy accept;
//	    meta iifgroup 0x76630001 ether type 0x8100 counter drop   (and 0x88a8, 0x9100)
//	  }
//	}
//
// It is spoken to nf_tables over netlink (mdlayher/netlink) directly: one
// fixed chain needs four message kinds, and a library for all of nftables
// would link its test double (netlink/nltest) into vc-dom0.
const (
	guardTable = "virtcloud"
	guardChain = "guest_tags"
)

var guardTypes = [][]byte{{0x81, 0x00}, {0x88, 0xa8}, {0x91, 0x00}}

// Netfilter's numbers that x/sys/unix does not name: the bridge family's
// first hook, and the verdicts.
const (
	nfBridgePreRouting = 0
	nfDrop             = 0
	nfAccept           = 1
)

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
	var cfg netlink.Config // zero: this process's namespace
	if h.ns.IsOpen() {
		cfg.NetNS = int(h.ns)
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &cfg)
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	defer func() { _ = c.Close() }() // a request socket: nothing to flush
	n, err := guardRules(c)
	if err != nil {
		return fmt.Errorf("list nftables rules: %w", err)
	}
	if n == len(guardTypes) {
		return nil
	}
	if err := transact(c, guardBatch()); err != nil {
		return fmt.Errorf("install nftables guard (bridge table %s): %w", guardTable, err)
	}
	h.log.Info("installed guard", "table", "bridge "+guardTable, "chain", guardChain)
	return nil
}

// nftMsg is one nf_tables request: its type, flags beyond Request and
// Acknowledge, and attributes after the nfgenmsg header (bridge family).
func nftMsg(typ int, flags netlink.HeaderFlags, attrs func(ae *netlink.AttributeEncoder)) netlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	attrs(ae)
	b, err := ae.Encode()
	if err != nil {
		panic(err) // fixed attributes of known sizes: cannot fail
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ), Flags: netlink.Request | flags},
		Data:   append([]byte{unix.NFPROTO_BRIDGE, unix.NFNETLINK_V0, 0, 0}, b...),
	}
}

// guardRules counts the rules of the guard chain; a chain or table that
// does not exist has none.
func guardRules(c *netlink.Conn) (int, error) {
	msgs, err := c.Execute(nftMsg(unix.NFT_MSG_GETRULE, netlink.Dump, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_RULE_TABLE, guardTable)
		ae.String(unix.NFTA_RULE_CHAIN, guardChain)
	}))
	if errors.Is(err, unix.ENOENT) {
		return 0, nil
	}
	return len(msgs), err
}

// guardBatch is the transaction: the table and the chain (created unless
// there), the chain flushed, the rules added.
func guardBatch() []netlink.Message {
	priority := int32(-200)
	msgs := []netlink.Message{
		nftMsg(unix.NFT_MSG_NEWTABLE, netlink.Acknowledge|netlink.Create, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, guardTable)
			ae.Uint32(unix.NFTA_TABLE_FLAGS, 0)
		}),
		nftMsg(unix.NFT_MSG_NEWCHAIN, netlink.Acknowledge|netlink.Create, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, guardTable)
			ae.String(unix.NFTA_CHAIN_NAME, guardChain)
			ae.Nested(unix.NFTA_CHAIN_HOOK, func(ae *netlink.AttributeEncoder) error {
				ae.Uint32(unix.NFTA_HOOK_HOOKNUM, nfBridgePreRouting)
				ae.Int32(unix.NFTA_HOOK_PRIORITY, priority)
				return nil
			})
			ae.Uint32(unix.NFTA_CHAIN_POLICY, nfAccept)
			ae.String(unix.NFTA_CHAIN_TYPE, "filter")
		}),
		nftMsg(unix.NFT_MSG_DELRULE, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_RULE_TABLE, guardTable)
			ae.String(unix.NFTA_RULE_CHAIN, guardChain)
		}),
	}
	for _, et := range guardTypes {
		msgs = append(msgs, nftMsg(unix.NFT_MSG_NEWRULE, netlink.Acknowledge|netlink.Create|netlink.Append, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_RULE_TABLE, guardTable)
			ae.String(unix.NFTA_RULE_CHAIN, guardChain)
			ae.Nested(unix.NFTA_RULE_EXPRESSIONS, func(ae *netlink.AttributeEncoder) error {
				ruleExpr(ae, "meta", func(ae *netlink.AttributeEncoder) {
					ae.Uint32(unix.NFTA_META_KEY, unix.NFT_META_IIFGROUP)
					ae.Uint32(unix.NFTA_META_DREG, unix.NFT_REG_1)
				})
				cmpEq(ae, binary.NativeEndian.AppendUint32(nil, GuestGroup))
				ruleExpr(ae, "payload", func(ae *netlink.AttributeEncoder) {
					ae.Uint32(unix.NFTA_PAYLOAD_DREG, unix.NFT_REG_1)
					ae.Uint32(unix.NFTA_PAYLOAD_BASE, unix.NFT_PAYLOAD_LL_HEADER)
					ae.Uint32(unix.NFTA_PAYLOAD_OFFSET, 12)
					ae.Uint32(unix.NFTA_PAYLOAD_LEN, 2)
				})
				cmpEq(ae, et)
				ruleExpr(ae, "counter", func(ae *netlink.AttributeEncoder) {
					ae.Uint64(unix.NFTA_COUNTER_BYTES, 0)
					ae.Uint64(unix.NFTA_COUNTER_PACKETS, 0)
				})
				ruleExpr(ae, "immediate", func(ae *netlink.AttributeEncoder) {
					ae.Uint32(unix.NFTA_IMMEDIATE_DREG, unix.NFT_REG_VERDICT)
					ae.Nested(unix.NFTA_IMMEDIATE_DATA, func(ae *netlink.AttributeEncoder) error {
						ae.Nested(unix.NFTA_DATA_VERDICT, func(ae *netlink.AttributeEncoder) error {
							ae.Uint32(unix.NFTA_VERDICT_CODE, nfDrop)
							return nil
						})
						return nil
					})
				})
				return nil
			})
		}))
	}
	return msgs
}

// ruleExpr appends one expression of a rule.
func ruleExpr(ae *netlink.AttributeEncoder, name string, data func(ae *netlink.AttributeEncoder)) {
	ae.Nested(unix.NFTA_LIST_ELEM, func(ae *netlink.AttributeEncoder) error {
		ae.String(unix.NFTA_EXPR_NAME, name)
		ae.Nested(unix.NFTA_EXPR_DATA, func(ae *netlink.AttributeEncoder) error { data(ae); return nil })
		return nil
	})
}

// cmpEq compares register 1 with v.
func cmpEq(ae *netlink.AttributeEncoder, v []byte) {
	ruleExpr(ae, "cmp", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NFTA_CMP_SREG, unix.NFT_REG_1)
		ae.Uint32(unix.NFTA_CMP_OP, unix.NFT_CMP_EQ)
		ae.Nested(unix.NFTA_CMP_DATA, func(ae *netlink.AttributeEncoder) error {
			ae.Bytes(unix.NFTA_DATA_VALUE, v)
			return nil
		})
	})
}

// transact sends msgs as one nf_tables batch, which the kernel applies
// whole or not at all, and waits for every acknowledgement: the first
// error is the batch's.
func transact(c *netlink.Conn, msgs []netlink.Message) error {
	edge := func(typ netlink.HeaderType) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: typ, Flags: netlink.Request},
			Data: []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES}}
	}
	batch := append(append([]netlink.Message{edge(unix.NFNL_MSG_BATCH_BEGIN)}, msgs...), edge(unix.NFNL_MSG_BATCH_END))
	if _, err := c.SendMessages(batch); err != nil {
		return err
	}
	for acks := len(msgs); acks > 0; {
		replies, err := c.Receive()
		if err != nil {
			return err
		}
		acks -= len(replies)
	}
	return nil
}
