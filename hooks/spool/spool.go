// Package spool keeps the hooks' small local state in one directory: the
// leases of jobs running here (so that epilogues and vc-periodic know their
// fencing tokens even when the lease server is down), the releases still to
// be delivered, and a count of failed starts per job. Every file is written
// whole through a rename, so a hook killed half way leaves no torn record.
package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/atomicfile"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// Dir is one spool directory.
type Dir struct{ Path string }

// Release is a release the lease server did not take yet.
type Release struct {
	Job      string    `json:"job"`
	Token    int64     `json:"token"`
	QueuedAt time.Time `json:"queued_at"`
}

const (
	envDir     = "env"
	jobsDir    = "jobs"
	releaseDir = "release"
	startsDir  = "starts"
)

func (d Dir) file(sub, job, ext string) (string, error) {
	if err := api.CheckJob(job); err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	return filepath.Join(d.Path, sub, job+ext), nil
}

// PutJob records a job's lease (hostjob.Job with Manager, TTLSeconds and
// Owner set; no State or Server).
func (d Dir) PutJob(j hostjob.Job) error { return d.put(jobsDir, j.Job, j) }

// GetJob reads a job's lease record; found is false when there is none.
func (d Dir) GetJob(job string) (j hostjob.Job, found bool, err error) {
	found, err = d.get(jobsDir, job, &j)
	return j, found, err
}

// RemoveJob forgets a job's lease; a missing record is no error.
func (d Dir) RemoveJob(job string) error { return d.remove(jobsDir, job, ".json") }

// Jobs lists the job records, oldest name first.
func (d Dir) Jobs() ([]hostjob.Job, error) {
	var out []hostjob.Job
	err := d.each(jobsDir, func(b []byte) error {
		var j hostjob.Job
		if err := json.Unmarshal(b, &j); err != nil {
			return err
		}
		out = append(out, j)
		return nil
	})
	return out, err
}

// PutEnv writes the job's network for the job itself, as NAME=value lines
// its user may read (the lease records hold the token: they stay private).
func (d Dir) PutEnv(job string, vars []string) error {
	p, err := d.file(envDir, job, "")
	if err != nil {
		return err
	}
	return d.writeMode(p, []byte(strings.Join(vars, "\n")+"\n"), 0o711, 0o644)
}

// EnvPath is where PutEnv writes a job's environment.
func (d Dir) EnvPath(job string) string { return filepath.Join(d.Path, envDir, job) }

// RemoveEnv removes a job's environment file; a missing one is no error.
func (d Dir) RemoveEnv(job string) error { return d.remove(envDir, job, "") }

// QueueRelease records a release for vc-periodic to deliver.
func (d Dir) QueueRelease(r Release) error { return d.put(releaseDir, r.Job, r) }

// Releases lists the queued releases.
func (d Dir) Releases() ([]Release, error) {
	var out []Release
	err := d.each(releaseDir, func(b []byte) error {
		var r Release
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// DoneRelease removes a delivered release.
func (d Dir) DoneRelease(job string) error { return d.remove(releaseDir, job, ".json") }

// AddFailedStart counts one failed start of a job here and returns the count.
func (d Dir) AddFailedStart(job string) (int, error) {
	p, err := d.file(startsDir, job, "")
	if err != nil {
		return 0, err
	}
	n := 0
	if b, err := os.ReadFile(p); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	n++
	return n, d.write(p, []byte(strconv.Itoa(n)+"\n"))
}

// FailedStarts returns the count of failed starts of a job here.
func (d Dir) FailedStarts(job string) int {
	p, err := d.file(startsDir, job, "")
	if err != nil {
		return 0
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// LastFailedStart is when a failed start of the job was last counted here
// (the zero time when never).
func (d Dir) LastFailedStart(job string) time.Time {
	p, err := d.file(startsDir, job, "")
	if err != nil {
		return time.Time{}
	}
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

// PruneStarts removes failed-start counts older than age.
func (d Dir) PruneStarts(now time.Time, age time.Duration) error {
	ents, err := os.ReadDir(filepath.Join(d.Path, startsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > age {
			if err := os.Remove(filepath.Join(d.Path, startsDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("spool: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

func (d Dir) put(sub, job string, v any) error {
	p, err := d.file(sub, job, ".json")
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return d.write(p, append(b, '\n'))
}

func (d Dir) write(p string, b []byte) error { return d.writeMode(p, b, 0o700, 0o600) }

func (d Dir) writeMode(p string, b []byte, dirMode, fileMode os.FileMode) error {
	// The spool itself may be shared by root's and SlurmUser's hooks (each
	// with its own directory below): traversable, not listable. What is in
	// it stays private.
	if err := os.MkdirAll(d.Path, 0o711); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Mkdir(filepath.Dir(p), dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("spool: %w", err)
	}
	// pbs_mom runs hooks with umask 0077: a directory the job must enter
	// gets its mode explicitly.
	if dirMode != 0o700 {
		if err := os.Chmod(filepath.Dir(p), dirMode); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if err := atomicfile.Write(p, b, fileMode); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func (d Dir) get(sub, job string, v any) (bool, error) {
	p, err := d.file(sub, job, ".json")
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("spool: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("spool: %s: %w", p, err)
	}
	return true, nil
}

func (d Dir) remove(sub, job, ext string) error {
	p, err := d.file(sub, job, ext)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func (d Dir) each(sub string, fn func([]byte) error) error {
	dir := filepath.Join(d.Path, sub)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			err = fn(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("spool: %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
