package hooks

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		m    Manager
		p    Program
		r    Role
		c    Class
		want int
	}{
		{Torque, Prologue, RoleFirst, OK, 0},
		{Torque, Prologue, RoleFirst, Refused, 1},
		{Torque, Prologue, RoleFirst, Transient, 2},
		{Torque, Prologue, RoleFirst, HostFault, 2},
		{Torque, Prologue, RoleSister, Refused, 0},
		{Torque, Prologue, RoleSister, Transient, 0},
		{Torque, Prologue, RoleSister, HostFault, 2},
		{Torque, Prologue, RolePresetup, Transient, 0},
		{Torque, Epilogue, RoleFirst, HostFault, 0},
		{Slurm, Prologue, RoleController, Refused, 0},
		{Slurm, Prologue, RoleController, Transient, 1},
		{Slurm, Prologue, RoleController, HostFault, 1},
		{Slurm, Prologue, RoleNode, Refused, 0},
		{Slurm, Prologue, RoleNode, Transient, 0},
		{Slurm, Prologue, RoleNode, HostFault, 1},
		{Slurm, Epilogue, RoleNode, HostFault, 0},
		{Slurm, Epilogue, RoleController, Transient, 0},
		{OpenPBS, Prologue, RoleFirst, Refused, OpenPBSAbort},
		{OpenPBS, Prologue, RoleSister, Transient, OpenPBSRequeue},
		{OpenPBS, Prologue, RoleFirst, HostFault, OpenPBSOffline},
		{OpenPBS, Epilogue, RoleFirst, HostFault, 0},
		{Standalone, Periodic, RolePeriodic, Transient, 1},
		{Standalone, Periodic, RolePeriodic, OK, 0},
	} {
		if got := ExitCode(tc.m, tc.p, tc.r, tc.c); got != tc.want {
			t.Errorf("ExitCode(%s, %s, %s, %s) = %d, want %d", tc.m, tc.p, tc.r, tc.c, got, tc.want)
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
