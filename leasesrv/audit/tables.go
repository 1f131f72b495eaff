package audit

import (
	"context"
	"fmt"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// Tables reads every switch's VLAN table through the drivers: the witness a
// store recovery (leasesrv.Service.RecoverStore) trusts when Redis lost its
// data. It fails unless every switch answered, since a VLAN on a switch that
// was not read would go back to the pools.
func (r *Reconciler) Tables(ctx context.Context) (map[string][]switchdrv.VLAN, error) {
	out := map[string][]switchdrv.VLAN{}
	for _, sw := range r.Switches() {
		vlans, err := r.VLANs(ctx, sw.Name, 0)
		if err != nil {
			return nil, fmt.Errorf("switch %s: %w", sw.Name, err)
		}
		out[sw.Name] = vlans
	}
	return out, nil
}
