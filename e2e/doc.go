// Package e2e is the whole of VirtCloud running: three sites of switch,
// host and guest network namespaces inside a VM kernel, a real Redis, the
// lease server, the switches configured over SSH by the project's driver,
// and the scheduler hooks and vc-dom0 invoked as Torque and a hypervisor
// would invoke them. The tests carry the build tag e2e and run only inside
// the VM (scripts/phases/48-e2e.sh, `make e2e`); see README.md.
package e2e
