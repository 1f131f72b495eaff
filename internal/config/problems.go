package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string
	Line int // 0 when the key is absent from the file (a missing value)
	Key  string
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Key != "" {
		fmt.Fprintf(&b, ": %s", p.Key)
	}
	fmt.Fprintf(&b, ": %s", p.Msg)
	return b.String()
}

// Problems is every problem found in one file; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(c *Config, key, format string, args ...any) {
	*ps = append(*ps, Problem{File: c.Path, Line: c.lineOf(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// where is file:line of a key, for a problem that names a second place.
func (c *Config) where(key string) string {
	if line := c.lineOf(key); line > 0 {
		return fmt.Sprintf("%s:%d: %s", c.Path, line, key)
	}
	return fmt.Sprintf("%s: %s", c.Path, key)
}

func asParseError(err error, pe *toml.ParseError) bool { return errors.As(err, pe) }

// lineOf finds the line that sets a dotted key such as "sites.brno.vlans" or
// "tokens[1].role", or the header of the table it belongs to. The TOML decoder
// keeps no positions, so this walks the source; it only needs to be right for
// the plain layouts people write.
func (c *Config) lineOf(key string) int {
	if len(c.src) == 0 {
		return 0
	}
	table, leaf := splitKey(key)
	arrayIdx := -1
	if i := strings.Index(table, "["); i >= 0 {
		// A key without an index keeps arrayIdx -1: the table's line is found instead.
		_, _ = fmt.Sscanf(table[i:], "[%d]", &arrayIdx)
		table = table[:i]
	}
	cur, seen, tableLine, fullLine, n := "", -1, 0, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(c.src))
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[["):
			cur = normTable(strings.Trim(line[:strings.Index(line, "]]")+2], "[] "))
			if cur == table {
				seen++
			}
			if cur == table && seen == arrayIdx {
				tableLine = n
			}
			continue
		case strings.HasPrefix(line, "["):
			end := strings.Index(line, "]")
			if end < 0 {
				continue
			}
			cur = normTable(strings.TrimSpace(line[1:end]))
			if cur == table {
				tableLine = n
			}
			if cur == key {
				fullLine = n
			}
			continue
		}
		if cur != table || (arrayIdx >= 0 && seen != arrayIdx) {
			continue
		}
		if eq := strings.Index(line, "="); eq > 0 && normTable(strings.TrimSpace(line[:eq])) == leaf {
			return n
		}
	}
	if fullLine > 0 {
		return fullLine
	}
	return tableLine
}

// splitKey separates "sites.brno.vlans" into table "sites.brno" and leaf
// "vlans". Keys with no leaf (a table itself) return an empty leaf.
func splitKey(key string) (table, leaf string) {
	if strings.HasSuffix(key, "]") || !strings.Contains(key, ".") {
		return key, ""
	}
	i := strings.LastIndex(key, ".")
	return key[:i], key[i+1:]
}

func normTable(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
