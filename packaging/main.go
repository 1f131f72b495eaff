// Command debs builds VirtCloud's Debian packages (virtcloud-server,
// virtcloud-node, virtcloud-cli) with nfpm, from the binaries in bin/ and
// the repository's units, hooks and configuration. `make deb` runs it.
//
// The nfpm configurations beside this file say what goes where; this
// program prepares the files that differ from the repository's (unit paths,
// the shipped configuration without sites, tokens or switches, vcctl's
// completion and man page, changelogs) and packages them.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
)

var packages = []string{"virtcloud-server", "virtcloud-node", "virtcloud-cli"}

func main() {
	root := flag.String("root", "..", "the repository")
	bin := flag.String("bin", "../bin", "the built binaries")
	out := flag.String("out", "../build/deb", "where the .deb files go")
	version := flag.String("version", "", "package version, e.g. 0.1.0+git20261206.abcdef0")
	flag.Parse()
	if err := run(*root, *bin, *out, *version); err != nil {
		fmt.Fprintf(os.Stderr, "debs: %v\n", err)
		os.Exit(1)
	}
}

func run(root, bin, out, version string) error {
	if version == "" || !strings.ContainsAny(version[:1], "0123456789") {
		return fmt.Errorf("-version %q: a Debian version starts with a digit", version)
	}
	for _, p := range []*string{&root, &bin, &out} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	stage := filepath.Join(out, "stage")
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	if err := prepare(root, bin, stage, version); err != nil {
		return err
	}
	env := map[string]string{"VERSION": version, "ROOT": root, "BIN": bin, "STAGE": stage}
	for _, name := range packages {
		path, err := build(filepath.Join(root, "packaging", name+".yaml"), out, env)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Println(path)
	}
	return nil
}

// build packages one nfpm configuration into out.
func build(config, out string, env map[string]string) (string, error) {
	text, err := os.ReadFile(config)
	if err != nil {
		return "", err
	}
	// Every ${NAME} of the file, in contents and scripts alike.
	cfg, err := nfpm.Parse(strings.NewReader(os.Expand(string(text), func(k string) string { return env[k] })))
	if err != nil {
		return "", err
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", err
	}
	path := filepath.Join(out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// prepare writes the staged files the configurations name.
func prepare(root, bin, stage, version string) error {
	read := func(rel string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		return string(b), err
	}
	write := func(rel, content string) error {
		p := filepath.Join(stage, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	// Units and the libvirt and OpenPBS hooks, with the package's paths.
	for _, s := range []struct{ file, old, new string }{
		{"systemd/leasesrv.service", "/usr/local/bin/leasesrv", "/usr/bin/leasesrv"},
		{"systemd/vc-periodic.service", "/usr/local/sbin/vc-periodic", "/usr/sbin/vc-periodic"},
		{"systemd/vc-periodic.timer", "", ""},
		{"contrib/libvirt/virtcloud-hook", "@BINDIR@", "/usr/sbin"},
		{"contrib/openpbs/virtcloud_hook.py", `"VIRTCLOUD_BIN", "/usr/local/sbin"`, `"VIRTCLOUD_BIN", "/usr/sbin"`},
	} {
		text, err := read(s.file)
		if err != nil {
			return err
		}
		if s.old != "" && !strings.Contains(text, s.old) {
			return fmt.Errorf("%s no longer names %s: update packaging/main.go", s.file, s.old)
		}
		if err := write(filepath.Base(s.file), strings.ReplaceAll(text, s.old, s.new)); err != nil {
			return err
		}
	}
	conf, err := read("contrib/virtcloud.toml")
	if err != nil {
		return err
	}
	shipped, err := withoutSites(conf)
	if err != nil {
		return err
	}
	if err := write("virtcloud.toml", shipped); err != nil {
		return err
	}
	// vcctl's completion scripts and man page, from its command definitions.
	vcctl := filepath.Join(bin, "vcctl")
	for _, c := range []struct {
		file string
		args []string
	}{
		{"vcctl.bash", []string{"completion", "bash"}},
		{"_vcctl", []string{"completion", "zsh"}},
		{"vcctl.fish", []string{"completion", "fish"}},
		{"vcctl.8", []string{"man"}},
	} {
		b, err := exec.Command(vcctl, c.args...).Output()
		if err != nil {
			return fmt.Errorf("%s %s: %w", vcctl, strings.Join(c.args, " "), err)
		}
		if err := write(c.file, string(b)); err != nil {
			return err
		}
	}
	if err := gzipFile(filepath.Join(stage, "vcctl.8")); err != nil {
		return err
	}
	// A native package's changelog.
	for _, name := range packages {
		entry := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * Built from the VirtCloud repository.\n\n -- VirtCloud maintainers <virtcloud@example.org>  %s\n",
			name, version, time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
		if err := write(name+".changelog", entry); err != nil {
			return err
		}
		if err := gzipFile(filepath.Join(stage, name+".changelog")); err != nil {
			return err
		}
	}
	return nil
}

// withoutSites is the commented configuration with every table from the
// first site on commented out: the package ships no site, host, token or
// switch (and so no secret), only the server's defaults to start from.
func withoutSites(conf string) (string, error) {
	lines := strings.SplitAfter(conf, "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "[sites.") {
			at = i
			break
		}
	}
	if at < 0 {
		return "", fmt.Errorf("contrib/virtcloud.toml has no [sites.NAME] table to start commenting at")
	}
	var b strings.Builder
	for i, l := range lines {
		if i == at {
			b.WriteString("# Fill in at least one site, then check the file:\n#   leasesrv check-config /etc/virtcloud/virtcloud.toml\n\n")
		}
		if i >= at && strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			l = "# " + l
		}
		b.WriteString(l)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "#") && (strings.Contains(l, "secret") || strings.Contains(l, "password") || strings.Contains(l, "community")) {
			return "", fmt.Errorf("the shipped configuration would set a secret: %q", l)
		}
	}
	return b.String(), nil
}

// gzipFile replaces path by path.gz, compressed as Debian wants (-9, no
// name or time).
func gzipFile(path string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(in)
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path+".gz", buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Remove(path)
}
