// Package e2e is the whole of VirtCloud running: three sites of switch,
// host and guest network namespaces, a real Redis, the lease server, the
// switches configured over SSH by the project's driver, and the scheduler
// hooks and vc-dom0 invoked as Torque and a hypervisor would invoke them.
// The tests carry the build tag e2e and run through scripts/e2e.sh (`make
// e2e`), on a kernel with 802.1Q: this machine's or a VM's; see README.md.
package e2e
