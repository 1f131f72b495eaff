package gate

import (
	"bytes"
	"hash/fnv"
	"path"
	"strconv"
	"strings"
	"syscall"
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
	h.Write([]byte(configPath))
	return path.Join(dir, "hooks-"+padded(strconv.FormatUint(h.Sum64(), 16), 16))
}

// Record is the cache vc-hook leaves (hooks writes it to CacheFile): that
// vc-hook, the program at hookPath, read the configuration file at
// configPath as data with permission bits perm, found it valid, and found
// queues in it. A name that could not be read back (a line break in a
// path or queue) gives no record (nil): such runs stay vc-hook's.
func Record(hookPath, configPath string, data []byte, perm uint32, queues []string) ([]byte, error) {
	for _, s := range append([]string{hookPath, configPath}, queues...) {
		if strings.Contains(s, "\n") {
			return nil, nil
		}
	}
	hook, err := hookID(hookPath)
	if err != nil {
		return nil, err
	}
	return record(hook, configPath, data, perm, queues), nil
}

// hookID names the vc-hook at path as it is now.
func hookID(path string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "", &pathError{"stat", path, err}
	}
	return path + " " + strconv.FormatInt(st.Size, 10) + " " + strconv.FormatInt(st.Mtim.Nano(), 10) + " " + strconv.FormatUint(st.Ino, 10), nil
}

// record is the cache's content for a configuration file read as data
// with permission bits perm by the vc-hook hook names.
func record(hook, configPath string, data []byte, perm uint32, queues []string) []byte {
	h := fnv.New64a()
	h.Write(data)
	b := []byte(cacheHeader + "hook " + hook + "\npath " + configPath + "\nfile " + strconv.Itoa(len(data)) + " " +
		padded(strconv.FormatUint(h.Sum64(), 16), 16) + " " + padded(strconv.FormatUint(uint64(perm&0o777), 8), 4) + "\n")
	for _, q := range queues {
		b = append(b, "queue "+q+"\n"...)
	}
	return b
}

// padded is s with leading zeros to width.
func padded(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// recalled is the gate's side: the [hooks] queues of the configuration
// file at configPath, if the vc-hook at hookPath cached them for the file
// as it is now. A cache this user did not write, or others may write, is
// not trusted.
func recalled(dir, hookPath, configPath string) ([]string, bool) {
	cache, st, err := readFile(CacheFile(dir, configPath))
	if err != nil || st.Mode&0o022 != 0 || int(st.Uid) != syscall.Geteuid() {
		return nil, false
	}
	hook, err := hookID(hookPath)
	if err != nil {
		return nil, false
	}
	data, st, err := readFile(configPath)
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(cache, record(hook, configPath, data, st.Mode, nil))
	if !ok {
		return nil, false
	}
	var queues []string
	for line := range strings.Lines(string(rest)) {
		q, ok := strings.CutPrefix(line, "queue ")
		if !ok || !strings.HasSuffix(q, "\n") {
			return nil, false
		}
		queues = append(queues, strings.TrimSuffix(q, "\n"))
	}
	return queues, true
}

// readFile reads the file at name whole, with its status as it was read.
func readFile(name string) ([]byte, *syscall.Stat_t, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &pathError{"open", name, err}
	}
	defer func() { _ = syscall.Close(fd) }() // read only: nothing to report
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, nil, &pathError{"stat", name, err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, nil, &pathError{"read", name, syscall.EISDIR}
	}
	b := make([]byte, 0, st.Size+1)
	for {
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, nil, &pathError{"read", name, err}
		case n == 0:
			return b, &st, nil
		}
		if b = b[:len(b)+n]; len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
