//go:build !failpoints

// Package failpoint kills the process at a named point, for crash tests. It
// is compiled in only with the build tag "failpoints"; this build has none.
package failpoint

// Hit does nothing in a build without failpoints.
func Hit(string) {}
