package ssh

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// BenchmarkAddVLAN adds one VLAN to N ports of one switch through an
// emulator that adds 20 ms to every round trip. "batch" is this driver: one
// session, one state read and one batch per change. "per-port" is the
// networking-generic-switch way, measured in the same run: a new SSH
// session and one change per port (only up to 64 ports, where it already
// takes seconds). The driver's cost is flat in N; the per-port rows report
// how many times longer they take than the batch with the same N
// (x-batch-time): -count repeats each row, and the k-th per-port run is
// divided by the k-th batch run.
//
//	go test -run '^$' -bench AddVLAN -benchtime 3x ./switchdrv/ssh/
func BenchmarkAddVLAN(b *testing.B) {
	const delay = 20 * time.Millisecond
	for _, dl := range Dialects() {
		b.Run(dl, func(b *testing.B) {
			ports := portNames(dl, 256)
			emu, err := sshemu.Start(sshemu.Config{Dialect: dl, Ports: ports, Delay: delay})
			if err != nil {
				b.Fatal(err)
			}
			defer emu.Close()
			cfg := &config.Switch{Driver: "ssh", Address: emu.Addr(), VLANName: "vc-{vid}", Timeout: config.Duration{Duration: time.Minute},
				Settings: &Config{Dialect: dl, Username: emu.User(), Password: config.NewSecret(emu.Password()), insecureIgnoreHostKey: true}}
			vid := 100
			nextVID := func() int { vid = 100 + (vid-99)%3000; return vid }
			batchRuns := map[int][]time.Duration{} // per N, each run's time, not yet paired
			for _, n := range []int{1, 8, 64, 256} {
				b.Run(fmt.Sprintf("batch/N=%d", n), func(b *testing.B) {
					for b.Loop() {
						d, _ := New(cfg, switchdrv.Options{Name: "sw1"})
						if err := d.Apply(context.Background(), switchdrv.Change{VLAN: nextVID(), Add: ports[:n]}); err != nil {
							b.Fatal(err)
						}
						d.Close()
					}
					batchRuns[n] = append(batchRuns[n], b.Elapsed()/time.Duration(b.N))
				})
			}
			for _, n := range []int{1, 8, 64} {
				b.Run(fmt.Sprintf("per-port/N=%d", n), func(b *testing.B) {
					for b.Loop() {
						v := nextVID()
						for _, p := range ports[:n] {
							d, _ := New(cfg, switchdrv.Options{Name: "sw1"})
							if err := d.Apply(context.Background(), switchdrv.Change{VLAN: v, Add: []string{p}}); err != nil {
								b.Fatal(err)
							}
							d.Close()
						}
					}
					// How many times slower than this driver with the same N.
					pp := b.Elapsed() / time.Duration(b.N)
					if bt := batchRuns[n]; len(bt) > 0 {
						b.ReportMetric(float64(pp)/float64(bt[0]), "x-batch-time")
						batchRuns[n] = bt[1:]
					}
				})
			}
		})
	}
}
