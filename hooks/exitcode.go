package hooks

import "github.com/virtcloud/virtcloud/hooks/gate"

// Program is which binary runs.
type Program string

const (
	Prologue Program = gate.Prologue
	Epilogue Program = gate.Epilogue
	Periodic Program = "vc-periodic"
)

// ExitCode is the one place that turns how a run ended into its exit
// status: 0 for success and for every epilogue (its failure drains a Slurm
// node and changes nothing for Torque jobs), 1 for a failed vc-periodic, and
// for a failed prologue what its resource manager needs to do the right
// thing with a failure of that class (FrontEnd.ExitCode). inv is what Run
// returned.
func ExitCode(p Program, inv *Invocation, err error) int {
	c := ClassOf(err)
	switch {
	case c == OK, p == Epilogue:
		return 0
	case inv == nil || inv.FrontEnd == nil:
		return 1
	}
	return inv.FrontEnd.ExitCode(c)
}
