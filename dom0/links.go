package dom0

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// dumpRetries bounds retries of a netlink dump the kernel interrupted
// because the table changed underneath it (other guests coming and going).
const dumpRetries = 10

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENOENT)
}

func isExist(err error) bool { return errors.Is(err, syscall.EEXIST) || errors.Is(err, os.ErrExist) }

// request is an rtnetlink request on the Host's own socket, which every
// step of an operation shares.
func (h *Host) request(proto, flags int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(proto, flags)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: h.route}
	return req
}

// linkByName returns the link or nil when there is none.
func (h *Host) linkByName(name string) (netlink.Link, error) {
	l, err := h.getLink(name, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return l, nil
}

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS, which x/sys does not
// name: the kernel leaves out statistics that nothing here reads (IPv6's;
// newer kernels all of them). Kernels that do not know it ignore it.
const rtextFilterSkipStats = 1 << 3

// getLink reads one link, by name or (name "") by index, in one request and
// one reply: without the acknowledgement the library's lookups ask for and
// then leave for the next request to read past, and without statistics.
// It returns nil when there is no such link.
func (h *Host) getLink(name string, index int) (netlink.Link, error) {
	req := h.request(unix.RTM_GETLINK, 0)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
	switch {
	case len(name) > unix.IFNAMSIZ-1: // only an alternative name can be longer
		req.AddData(nl.NewRtAttr(unix.IFLA_ALT_IFNAME, nl.ZeroTerminated(name)))
	case name != "":
		req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	}
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("%d replies to one link lookup", len(msgs))
	}
	return netlink.LinkDeserialize(nil, msgs[0])
}

func (h *Host) linkList() ([]netlink.Link, error) {
	for i := 0; ; i++ {
		links, err := h.nl.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) && i < dumpRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list links: %w", err)
		}
		return links, nil
	}
}

func (h *Host) bridgeVLANs() (map[int32][]*nl.BridgeVlanInfo, error) {
	for i := 0; ; i++ {
		m, err := h.nl.BridgeVlanList()
		if errors.Is(err, netlink.ErrDumpInterrupted) && i < dumpRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list bridge VLANs: %w", err)
		}
		return m, nil
	}
}

// ports lists the ports of bridge br with a dump the kernel filters by
// master, so its cost does not grow with the number of guests elsewhere.
func (h *Host) ports(br netlink.Link) ([]netlink.Link, error) {
	idx := br.Attrs().Index
	for i := 0; ; i++ {
		req := h.request(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(idx))))
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
		if errors.Is(err, nl.ErrDumpInterrupted) && i < dumpRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list ports of %s: %w", br.Attrs().Name, err)
		}
		var links []netlink.Link
		for _, m := range msgs {
			l, err := netlink.LinkDeserialize(nil, m)
			if err != nil {
				return nil, fmt.Errorf("list ports of %s: %w", br.Attrs().Name, err)
			}
			links = append(links, l)
		}
		return portsOf(links, idx), nil // older kernels ignore the filter
	}
}

// portsOf lists the links enslaved to the bridge with index br.
func portsOf(links []netlink.Link, br int) []netlink.Link {
	var out []netlink.Link
	for _, l := range links {
		if l.Attrs().MasterIndex == br {
			out = append(out, l)
		}
	}
	return out
}

func (h *Host) setUp(l netlink.Link) error {
	if l.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := h.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", l.Attrs().Name, err)
	}
	return nil
}

func (h *Host) setMTU(l netlink.Link, mtu int) error {
	if l.Attrs().MTU == mtu {
		return nil
	}
	if err := h.nl.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set %s mtu %d: %w", l.Attrs().Name, mtu, err)
	}
	return nil
}

func (h *Host) trunk() (netlink.Link, error) {
	t, err := h.linkByName(h.cfg.Trunk)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("trunk %q: %w", h.cfg.Trunk, ErrNotFound)
	}
	return t, nil
}

func (h *Host) delLink(name string) error {
	l, err := h.linkByName(name)
	if err != nil || l == nil {
		return err
	}
	if err := h.nl.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	h.log.Info("deleted", "link", name)
	return nil
}

// change is one link update; -1 (or false) leaves a field alone.
type change struct {
	mtu, master, group int
	up                 bool
}

// apply sends every needed part of c in one RTM_NEWLINK message, as
// `ip link set dev X mtu M group G master B up` would: one round trip where
// separate calls would take four.
func (h *Host) apply(l netlink.Link, c change) error {
	a := l.Attrs()
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(a.Index)
	var attrs []*nl.RtAttr
	if c.mtu > 0 && a.MTU != c.mtu {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(c.mtu))))
	}
	if c.group >= 0 && a.Group != uint32(c.group) {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(uint32(c.group))))
	}
	if c.master >= 0 && a.MasterIndex != c.master {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(c.master))))
	}
	if c.up && a.Flags&net.FlagUp == 0 {
		msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	}
	if len(attrs) == 0 && msg.Change == 0 {
		return nil
	}
	req := h.request(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	req.AddData(msg)
	for _, at := range attrs {
		req.AddData(at)
	}
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("set %s: %w", a.Name, err)
	}
	return nil
}
