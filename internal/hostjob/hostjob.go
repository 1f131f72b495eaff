// Package hostjob is the one record of a scheduler job on one host, and the
// job files that publish it under a host's state directory. The hooks keep
// the record in their spool and write the job file; dom0 reads job files to
// keep a job's bridge and to list it; the VM-booting layer reads them to
// find the job's bridge. It links no netlink, so the hooks can use it.
package hostjob

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/internal/atomicfile"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Job is one job's lease as this host knows it. A job file says that the
// scheduler job Job holds VLAN VLAN here, and the VLAN's bridge stays even
// with no guest attached, so a guest that boots late or reboots finds it.
type Job struct {
	Job    string `json:"job"`
	VLAN   int    `json:"vlan"`
	Bridge string `json:"bridge,omitempty"`
	// State and Token are the lease's when the record was written; Server
	// is the lease server that granted it.
	State  string `json:"state,omitempty"`
	Token  int64  `json:"token,omitempty"`
	Server string `json:"server,omitempty"`
	// The hooks' own bookkeeping: the resource manager that runs the job,
	// the TTL asked for, and whether this host releases and renews the
	// lease (the first node, or the Slurm controller).
	Manager    string `json:"manager,omitempty"`
	TTLSeconds int64  `json:"ttl_seconds,omitempty"`
	Owner      bool   `json:"owner,omitempty"`
}

// ErrInvalid means a record that cannot be written: no job id, one too long
// for a file name, or a VLAN out of range.
var ErrInvalid = errors.New("invalid job record")

const suffix = ".json"

// fileName encodes a job id into a file name: letters, digits and '-'
// stay, every other byte becomes "_xx" (hex). It is reversible, and ".",
// "..", "/" and "_" can never collide or escape the directory.
func fileName(job string) string {
	var b strings.Builder
	for i := 0; i < len(job); i++ {
		c := job[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String() + suffix
}

func jobOfFileName(name string) (string, error) {
	s, ok := strings.CutSuffix(name, suffix)
	if !ok {
		return "", fmt.Errorf("%q is not a job file", name)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("%q is not a job file", name)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("%q is not a job file", name)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

func dir(stateDir string) string { return filepath.Join(stateDir, "jobs") }

// Write publishes j as <stateDir>/jobs/<job>.json, atomically.
func Write(stateDir string, j Job) error {
	if j.Job == "" {
		return fmt.Errorf("write job file: empty job id: %w", ErrInvalid)
	}
	if j.VLAN < config.MinVLAN || j.VLAN > config.MaxVLAN {
		return fmt.Errorf("write job file %s: VLAN %d is out of range %d-%d: %w", j.Job, j.VLAN, config.MinVLAN, config.MaxVLAN, ErrInvalid)
	}
	name := fileName(j.Job)
	if len(name) > 255 {
		return fmt.Errorf("write job file: job id %.40q... is too long for a file name: %w", j.Job, ErrInvalid)
	}
	if err := os.MkdirAll(dir(stateDir), 0o755); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	if err := atomicfile.Write(filepath.Join(dir(stateDir), name), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	return nil
}

// Remove removes a job file; one that is not there is already removed.
func Remove(stateDir, job string) error {
	err := os.Remove(filepath.Join(dir(stateDir), fileName(job)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove job file %s: %w", job, err)
	}
	return nil
}

// ReadAll reads every job file, sorted by job id. A missing directory means
// no jobs; a file that does not parse is an error naming it.
func ReadAll(stateDir string) ([]Job, error) {
	d := dir(stateDir)
	ents, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read job files: %w", err)
	}
	var jobs []Job
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		path := filepath.Join(d, e.Name())
		id, err := jobOfFileName(e.Name())
		if err != nil {
			return nil, fmt.Errorf("read job files: %s: %w", path, err)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read job files: %w", err)
		}
		var j Job
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("read job file %s: %w", path, err)
		}
		if j.Job != id {
			return nil, fmt.Errorf("read job file %s: it names job %q", path, j.Job)
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].Job < jobs[b].Job })
	return jobs, nil
}
