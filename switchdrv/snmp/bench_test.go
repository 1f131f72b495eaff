package snmp

import (
	"strconv"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// BenchmarkAddPorts adds one new VLAN to N ports of a 256-port switch over
// a link with 20 ms per round trip, through the driver (one GET and one SET
// whatever N) and, in the same run, the networking-generic-switch way (one
// GET and SET per port). Reported: round trips and milliseconds per
// operation, and for per-port the factor by which it is slower than batch
// (-count repeats each row; the k-th per-port run is divided by the k-th
// batch run).
//
//	go test -run '^$' -bench AddPorts ./switchdrv/snmp/
func BenchmarkAddPorts(b *testing.B) {
	const delay = 20 * time.Millisecond
	batchMs := map[int][]float64{} // per N, each run's ms/op, not yet paired
	for _, n := range []int{1, 8, 64, 256} {
		ports := portNames(n)
		b.Run("N="+strconv.Itoa(n)+"/batch", func(b *testing.B) {
			ms := benchAdd(b, delay, func(d *Driver, vid int) error {
				return d.Apply(bg(b), switchdrv.Change{VLAN: vid, Name: "vc", Add: ports})
			})
			batchMs[n] = append(batchMs[n], ms)
		})
		b.Run("N="+strconv.Itoa(n)+"/per-port", func(b *testing.B) {
			ms := benchAdd(b, delay, func(d *Driver, vid int) error {
				for _, p := range ports {
					if err := d.Apply(bg(b), switchdrv.Change{VLAN: vid, Name: "vc", Add: []string{p}}); err != nil {
						return err
					}
				}
				return nil
			})
			if bt := batchMs[n]; len(bt) > 0 {
				b.ReportMetric(ms/bt[0], "x-slower-than-batch")
				batchMs[n] = bt[1:]
			}
		})
	}
}

// benchAdd runs add once per iteration on a fresh VLAN and returns ms/op.
func benchAdd(b *testing.B, delay time.Duration, add func(d *Driver, vid int) error) float64 {
	a := startFake(b, syntheticSwitch(256))
	d := openFake(b, a, time.Minute)
	if _, err := d.VLANs(bg(b)); err != nil { // the port map is read once per driver
		b.Fatal(err)
	}
	a.delay.Store(int64(delay))
	g0, s0 := a.counts()
	start := time.Now()
	vid := 100
	for b.Loop() {
		vid++
		if err := add(d, vid); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	g1, s1 := a.counts()
	ms := float64(elapsed.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(float64(g1-g0+s1-s0)/float64(b.N), "roundtrips/op")
	b.ReportMetric(ms, "ms/op")
	return ms
}
