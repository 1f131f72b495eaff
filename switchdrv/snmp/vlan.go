package snmp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// RowStatus values (RFC 2579).
const (
	active        = 1
	notInService  = 2
	notReady      = 3
	createAndGo   = 4
	createAndWait = 5
	destroy       = 6
)

// row is one dot1qVlanStaticEntry as read from the agent.
type row struct {
	exists   bool
	status   int // 0 when the agent has no RowStatus for the row
	name     string
	egress   PortList
	untagged PortList
}

// Apply makes the change with one GET of the VLAN row and, when something
// differs, one SET PDU: row creation, name, egress and untagged lists
// together. Only the bits of the ports named in the change are touched.
// Delete destroys the row. A VLAN that opts.Managed refuses is rejected
// before anything is sent.
func (d *Driver) Apply(ctx context.Context, c switchdrv.Change) error {
	if err := d.checkChange(c); err != nil {
		return &switchdrv.Error{Switch: d.name, VLAN: c.VLAN, Kind: switchdrv.Rejected, Err: err}
	}
	return d.op(ctx, c.VLAN, func(context.Context) error { return d.apply(c) })
}

func (d *Driver) checkChange(c switchdrv.Change) error {
	switch {
	case c.VLAN < 1 || c.VLAN > 4094:
		return fmt.Errorf("vlan id %d outside 1-4094; nothing sent", c.VLAN)
	case !d.managed(c.VLAN):
		return fmt.Errorf("vlan %d is not in the ranges this project manages; nothing sent", c.VLAN)
	case c.Delete && len(c.Add) > 0:
		return errors.New("a change cannot both add ports and delete the vlan; nothing sent")
	case len(c.Name) > 32:
		return fmt.Errorf("vlan name %q longer than 32 octets; nothing sent", c.Name)
	}
	return nil
}

func (d *Driver) apply(c switchdrv.Change) error {
	add, err := d.resolve(c.Add)
	if err != nil {
		return err
	}
	remove, err := d.resolve(c.Remove)
	if err != nil {
		return err
	}
	m := d.ports
	r, err := d.readRow(m, c.VLAN)
	if err != nil {
		return err
	}
	if c.Delete {
		if !r.exists {
			return nil
		}
		return d.set([]gosnmp.SnmpPDU{status(c.VLAN, destroy)})
	}
	if !r.exists {
		if len(add) == 0 {
			return nil // nothing to remove from a VLAN that is not there
		}
		egress := make(PortList, m.octets())
		for _, p := range add {
			egress.Set(p, true)
		}
		return d.create(c.VLAN, c.Name, egress)
	}

	n := max(m.octets(), len(r.egress), len(r.untagged))
	egress, untagged := r.egress.Padded(n), r.untagged.Padded(n)
	for _, p := range add {
		egress.Set(p, true)
		untagged.Set(p, false) // the VLAN goes on host trunks tagged
	}
	for _, p := range remove {
		egress.Set(p, false)
		untagged.Set(p, false)
	}
	var pdus []gosnmp.SnmpPDU
	if c.Name != "" && c.Name != r.name {
		pdus = append(pdus, octetString(oidStaticName, c.VLAN, []byte(c.Name)))
	}
	if !egress.Equal(r.egress) {
		pdus = append(pdus, octetString(oidStaticEgress, c.VLAN, egress))
	}
	if !untagged.Equal(r.untagged) {
		pdus = append(pdus, octetString(oidStaticUntagged, c.VLAN, untagged))
	}
	switch r.status {
	case notInService, notReady, createAndWait: // left half-made, e.g. by an interrupted creation
		pdus = append(pdus, status(c.VLAN, active))
	}
	if len(pdus) == 0 {
		return nil
	}
	return d.set(pdus)
}

// create makes a new row: createAndGo with name and egress in one PDU, or,
// for agents that refuse that, createAndWait, then the columns, then active.
func (d *Driver) create(vid int, name string, egress PortList) error {
	cols := []gosnmp.SnmpPDU{octetString(oidStaticEgress, vid, egress)}
	if name != "" {
		cols = append([]gosnmp.SnmpPDU{octetString(oidStaticName, vid, []byte(name))}, cols...)
	}
	err := d.set(append([]gosnmp.SnmpPDU{status(vid, createAndGo)}, cols...))
	var f *failure
	if err == nil || !errors.As(err, &f) || f.kind != switchdrv.Rejected {
		return err
	}
	d.log.Info("createAndGo refused, creating the row with createAndWait", "switch", d.name, "vlan", vid, "err", err)
	if err := d.set([]gosnmp.SnmpPDU{status(vid, createAndWait)}); err != nil {
		return fmt.Errorf("createAndWait after createAndGo was refused: %w", err)
	}
	if err := d.set(cols); err != nil {
		return fmt.Errorf("fill the row made by createAndWait: %w", err)
	}
	if err := d.set([]gosnmp.SnmpPDU{status(vid, active)}); err != nil {
		return fmt.Errorf("activate the row made by createAndWait: %w", err)
	}
	return nil
}

// readRow GETs one VLAN's RowStatus, egress, untagged and name columns.
// A row reading back as destroy(6), which no real agent reports (snmpsim
// stores what it is told), counts as absent.
func (d *Driver) readRow(m *portMap, vid int) (row, error) {
	oids := []string{col(oidStaticRowStatus, vid), col(oidStaticEgress, vid), col(oidStaticUntagged, vid), col(oidStaticName, vid)}
	vs, err := d.get(oids)
	if err != nil {
		return row{}, err
	}
	var r row
	for i, v := range vs {
		if v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.NoSuchObject {
			continue
		}
		if err := r.fill(m, i, v); err != nil {
			return row{}, err
		}
	}
	return r, nil
}

// fill stores one column of the row; c is the column's position in
// readRow's GET (status, egress, untagged, name).
func (r *row) fill(m *portMap, c int, v gosnmp.SnmpPDU) error {
	if c == 0 {
		s, ok := v.Value.(int)
		if v.Type != gosnmp.Integer || !ok {
			return badAnswer("%s is %s, not a RowStatus", v.Name, v.Type)
		}
		r.status, r.exists = s, s != destroy
		return nil
	}
	b, ok := v.Value.([]byte)
	if v.Type != gosnmp.OctetString || !ok {
		return badAnswer("%s is %s, not an OCTET STRING", v.Name, v.Type)
	}
	if c == 3 {
		r.name = string(b)
		return nil
	}
	if why := m.check(v.Name, b); why != "" {
		m.notBitmap = why
		return badAnswer("%s", why)
	}
	if c == 1 {
		r.egress = b
		if r.status == 0 {
			r.exists = true // an agent without RowStatus
		}
	} else {
		r.untagged = b
	}
	return nil
}

// VLAN reads one VLAN's name and members.
func (d *Driver) VLAN(ctx context.Context, vid int) (v switchdrv.VLAN, found bool, err error) {
	err = d.op(ctx, vid, func(context.Context) error {
		m, err := d.portMap(false)
		if err != nil {
			return err
		}
		r, err := d.readRow(m, vid)
		if err != nil {
			return err
		}
		if found = r.exists; found {
			v = r.vlan(m, vid)
		}
		return nil
	})
	return v, found, err
}

// VLANs walks the static VLAN table.
func (d *Driver) VLANs(ctx context.Context) ([]switchdrv.VLAN, error) {
	var out []switchdrv.VLAN
	err := d.op(ctx, 0, func(context.Context) error {
		m, err := d.portMap(false)
		if err != nil {
			return err
		}
		vs, err := d.walk(oidStaticTable)
		if err != nil {
			return err
		}
		rows := map[int]*row{}
		positions := map[string]int{oidStaticRowStatus: 0, oidStaticEgress: 1, oidStaticUntagged: 2, oidStaticName: 3}
		for _, v := range vs {
			column, rest, ok := cutLast(v.Name)
			c, known := positions[column]
			vid, err := strconv.Atoi(rest)
			if !ok || !known || err != nil {
				continue // forbidden ports, or columns this driver does not use
			}
			if rows[vid] == nil {
				rows[vid] = &row{}
			}
			if err := rows[vid].fill(m, c, v); err != nil {
				return err
			}
		}
		for vid, r := range rows {
			if r.exists {
				out = append(out, r.vlan(m, vid))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return nil
	})
	return out, err
}

// vlan reports tagged ports as egress minus untagged.
func (r *row) vlan(m *portMap, vid int) switchdrv.VLAN {
	tagged := make(PortList, len(r.egress))
	for _, p := range r.egress.Ports() {
		if !r.untagged.Has(p) {
			tagged.Set(p, true)
		}
	}
	return switchdrv.VLAN{ID: vid, Name: r.name, Tagged: m.nameAll(tagged), Untagged: m.nameAll(r.untagged)}
}

func col(column string, vid int) string { return column + "." + strconv.Itoa(vid) }

func cutLast(oid string) (head, last string, ok bool) {
	i := strings.LastIndexByte(oid, '.')
	if i < 0 {
		return "", "", false
	}
	return oid[:i], oid[i+1:], true
}

func status(vid, s int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: col(oidStaticRowStatus, vid), Type: gosnmp.Integer, Value: s}
}

func octetString(column string, vid int, b []byte) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: col(column, vid), Type: gosnmp.OctetString, Value: b}
}
