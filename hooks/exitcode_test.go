package hooks

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	var (
		torqueFirst    = &torqueFront{}
		torqueSister   = &torqueFront{sister: true}
		torquePresetup = &torqueFront{presetup: true}
		slurmCtl       = &slurmFront{controller: true}
		slurmNode      = &slurmFront{}
		pbsFirst       = &openpbsFront{}
		pbsSister      = &openpbsFront{sister: true}
	)
	for _, tc := range []struct {
		name string
		fe   FrontEnd // nil: vc-periodic
		p    Program
		c    Class
		want int
	}{
		{"torque first", torqueFirst, Prologue, OK, 0},
		{"torque first", torqueFirst, Prologue, Refused, 1},
		{"torque first", torqueFirst, Prologue, Transient, 2},
		{"torque first", torqueFirst, Prologue, HostFault, 2},
		{"torque first", torqueFirst, Prologue, Degraded, 0},
		{"torque sister", torqueSister, Prologue, Refused, 0},
		{"torque sister", torqueSister, Prologue, Transient, 0},
		{"torque sister", torqueSister, Prologue, HostFault, 2},
		{"torque presetup", torquePresetup, Prologue, Transient, 0},
		{"torque first", torqueFirst, Epilogue, HostFault, 0},
		{"slurm controller", slurmCtl, Prologue, Refused, 0},
		{"slurm controller", slurmCtl, Prologue, Transient, 1},
		{"slurm controller", slurmCtl, Prologue, HostFault, 1},
		{"slurm node", slurmNode, Prologue, Refused, 0},
		{"slurm node", slurmNode, Prologue, Transient, 0},
		{"slurm node", slurmNode, Prologue, HostFault, 1},
		{"slurm node", slurmNode, Prologue, Degraded, 0},
		{"slurm node", slurmNode, Epilogue, HostFault, 0},
		{"slurm controller", slurmCtl, Epilogue, Transient, 0},
		{"openpbs first", pbsFirst, Prologue, Refused, OpenPBSAbort},
		{"openpbs sister", pbsSister, Prologue, Transient, OpenPBSRequeue},
		{"openpbs first", pbsFirst, Prologue, HostFault, OpenPBSOffline},
		{"openpbs first", pbsFirst, Prologue, Degraded, OpenPBSOfflineAccept},
		{"openpbs first", pbsFirst, Epilogue, HostFault, 0},
		{"periodic", nil, Periodic, Transient, 1},
		{"periodic", nil, Periodic, OK, 0},
	} {
		var inv *Invocation
		if tc.fe != nil {
			inv = &Invocation{Program: tc.p, FrontEnd: tc.fe}
		}
		var err error
		if tc.c != OK {
			err = &Error{Class: tc.c, Err: errors.New("boom")}
		}
		if got := ExitCode(tc.p, inv, err); got != tc.want {
			t.Errorf("%s: ExitCode(%s, %s) = %d, want %d", tc.name, tc.p, tc.c, got, tc.want)
		}
	}
}

func TestClassOf(t *testing.T) {
	base := errors.New("boom")
	if ClassOf(nil) != OK || ClassOf(base) != HostFault {
		t.Fatal("nil or unclassified")
	}
	err := fmt.Errorf("wrapped: %w", &Error{Class: Transient, Err: base})
	if ClassOf(err) != Transient || !errors.Is(err, base) {
		t.Fatalf("ClassOf(%v) = %s", err, ClassOf(err))
	}
	if ClassOf(classify(Refused, err)) != Transient {
		t.Fatal("classify overrode an existing class")
	}
}
