package dom0

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Job is a job file: while it exists, the scheduler job Job holds VLAN VLAN
// on this host, and the VLAN's bridge stays even with no guest attached, so a
// guest that boots late or reboots finds it.
type Job struct {
	Job    string `json:"job"`
	VLAN   int    `json:"vlan"`
	Bridge string `json:"bridge,omitempty"`
	State  string `json:"state,omitempty"`
	Token  int64  `json:"token,omitempty"`
	Server string `json:"server,omitempty"`
}

const jobSuffix = ".json"

// jobFileName encodes a job id into a file name: letters, digits and '-'
// stay, every other byte becomes "_xx" (hex). It is reversible, and ".",
// "..", "/" and "_" can never collide or escape the directory.
func jobFileName(job string) string {
	var b strings.Builder
	for i := 0; i < len(job); i++ {
		c := job[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String() + jobSuffix
}

func jobFromFileName(name string) (string, error) {
	s, ok := strings.CutSuffix(name, jobSuffix)
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

func jobsDir(stateDir string) string { return filepath.Join(stateDir, "jobs") }

// WriteJob writes <stateDir>/jobs/<job>.json atomically (write, then rename).
func WriteJob(stateDir string, j Job) error {
	if j.Job == "" {
		return fmt.Errorf("write job file: empty job id: %w", ErrInvalid)
	}
	if err := checkVLAN(j.VLAN); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	name := jobFileName(j.Job)
	if len(name) > 255 {
		return fmt.Errorf("write job file: job id %.40q... is too long for a file name: %w", j.Job, ErrInvalid)
	}
	dir := jobsDir(stateDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	// Renamed, the temporary file is gone and this removal fails harmlessly;
	// it matters only when a step below failed.
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close() // the write's error is the one to report
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write job file %s: %w", j.Job, err)
	}
	return nil
}

// RemoveJob removes a job file; one that is not there is already removed.
func RemoveJob(stateDir, job string) error {
	err := os.Remove(filepath.Join(jobsDir(stateDir), jobFileName(job)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove job file %s: %w", job, err)
	}
	return nil
}

// ReadJobs reads every job file, sorted by job id. A missing directory means
// no jobs; a file that does not parse is an error naming it.
func ReadJobs(stateDir string) ([]Job, error) {
	dir := jobsDir(stateDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read job files: %w", err)
	}
	var jobs []Job
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), jobSuffix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		id, err := jobFromFileName(e.Name())
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
