package gate

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/virtcloud/virtcloud/internal/atomicfile"
)

// A decision vc-hook leaves for the gate names the vc-hook that judged the
// file (its path, size, modification time and inode: a reinstalled or
// upgraded vc-hook may check more), the configuration file it read, the
// file's size, content hash and mode, and the [hooks] queues in it:
//
//	virtcloud-gate 1
//	hook /usr/sbin/vc-hook 10301250 1796555520123456789 1835021
//	path /etc/virtcloud/virtcloud.toml
//	file 412 9f0c6a1d37e2b5c4 0640
//	queue vcluster
//
// The gate trusts it only while that vc-hook and the file are the same, the
// file byte for byte and mode for mode: a file changed, made readable by
// others or removed sends the next job to vc-hook, which reads it again and
// reports what is wrong with it. The cache holds no secret, but a hash of a
// file that does: only its owner reads it.
const cacheHeader = "virtcloud-gate 1\n"

// CacheFile is the cache of one configuration file: a directory of caches
// serves every configuration a machine's hooks use.
func CacheFile(dir, configPath string) string {
	h := fnv.New64a()
	io.WriteString(h, configPath)
	return filepath.Join(dir, fmt.Sprintf("hooks-%016x", h.Sum64()))
}

// hookID names the vc-hook at path as it is now.
func hookID(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("%s: no inode", path)
	}
	return fmt.Sprintf("%s %d %d %d", path, info.Size(), info.ModTime().UnixNano(), st.Ino), nil
}

// record is the cache's content for a configuration file read as data
// with mode by the vc-hook hook names.
func record(hook, configPath string, data []byte, mode fs.FileMode, queues []string) []byte {
	h := fnv.New64a()
	h.Write(data)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%shook %s\npath %s\nfile %d %016x %04o\n", cacheHeader, hook, configPath, len(data), h.Sum64(), mode.Perm())
	for _, q := range queues {
		fmt.Fprintf(&b, "queue %s\n", q)
	}
	return b.Bytes()
}

// Remember is vc-hook's side: vc-hook, the program at hookPath, caches the
// queues of the configuration file at configPath, which it read as data
// with mode and found valid. A cache already up to date is left alone. A
// name that could not be read back (a line break in a path or queue) is
// not cached: such runs stay vc-hook's.
func Remember(dir, hookPath, configPath string, data []byte, mode fs.FileMode, queues []string) error {
	for _, s := range append([]string{hookPath, configPath}, queues...) {
		if strings.Contains(s, "\n") {
			return nil
		}
	}
	hook, err := hookID(hookPath)
	if err != nil {
		return fmt.Errorf("cache the ordinary-job decision: %w", err)
	}
	name := CacheFile(dir, configPath)
	want := record(hook, configPath, data, mode, queues)
	if have, err := os.ReadFile(name); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache the ordinary-job decision: %w", err)
	}
	return atomicfile.Write(name, want, 0o600)
}

// recalled is the gate's side: the [hooks] queues of the configuration
// file at configPath, if the vc-hook at hookPath cached them for the file
// as it is now. A cache this user did not write, or others may write, is
// not trusted.
func recalled(dir, hookPath, configPath string) ([]string, bool) {
	cache, ok := readOwn(CacheFile(dir, configPath))
	if !ok {
		return nil, false
	}
	hook, err := hookID(hookPath)
	if err != nil {
		return nil, false
	}
	f, err := os.Open(configPath)
	if err != nil {
		return nil, false
	}
	defer func() { _ = f.Close() }() // read only: nothing to report
	info, err := f.Stat()
	if err != nil {
		return nil, false
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(cache, record(hook, configPath, data, info.Mode(), nil))
	if !ok {
		return nil, false
	}
	var queues []string
	for _, line := range strings.SplitAfter(string(rest), "\n") {
		if line == "" {
			break
		}
		q, ok := strings.CutPrefix(line, "queue ")
		if !ok || !strings.HasSuffix(q, "\n") {
			return nil, false
		}
		queues = append(queues, strings.TrimSuffix(q, "\n"))
	}
	return queues, true
}

// readOwn reads a file owned by this process's user that no one else may
// write.
func readOwn(name string) ([]byte, bool) {
	f, err := os.Open(name)
	if err != nil {
		return nil, false
	}
	defer func() { _ = f.Close() }() // read only: nothing to report
	info, err := f.Stat()
	if err != nil || info.Mode().Perm()&0o022 != 0 {
		return nil, false
	}
	if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return nil, false
	}
	b, err := io.ReadAll(f)
	return b, err == nil
}
