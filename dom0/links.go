package dom0

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// dumpRetries bounds retries of a netlink dump the kernel interrupted
// because the table changed underneath it (other guests coming and going).
const dumpRetries = 10

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENOENT)
}

func isExist(err error) bool { return errors.Is(err, syscall.EEXIST) || errors.Is(err, os.ErrExist) }

// linkByName returns the link or nil when there is none.
func (h *Host) linkByName(name string) (netlink.Link, error) {
	l, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return l, nil
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
