# VirtCloud. `make demo` shows it working; `make test` runs the whole suite.
GO       ?= go
PBS_HOME ?= /var/spool/torque
PREFIX   ?= /usr/local

.PHONY: build test demo bench soak fuzz clean

# Every command in cmd/ becomes bin/<name>, statically linked (the VM tests
# copy them into a guest that has no C library).
build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

test: build
	scripts/test.sh

demo: build
	contrib/demo/demo.sh

bench: build
	scripts/bench.sh

clean:
	rm -rf bin

# install-torque: the hooks as pbs_mom runs them: root-owned 0500 copies in
# $(PBS_HOME)/mom_priv (a looser mode makes Torque requeue every job),
# vc-hook beside them, where they look first, and vc-periodic for the timer
# in systemd/. Run `make build` first.
.PHONY: install-torque
install-torque:
	install -o root -g root -m 0500 bin/vc-prologue $(PBS_HOME)/mom_priv/prologue
	install -o root -g root -m 0500 bin/vc-prologue $(PBS_HOME)/mom_priv/prologue.parallel
	install -o root -g root -m 0500 bin/vc-epilogue $(PBS_HOME)/mom_priv/epilogue
	install -o root -g root -m 0500 bin/vc-epilogue $(PBS_HOME)/mom_priv/epilogue.parallel
	install -o root -g root -m 0500 bin/vc-hook $(PBS_HOME)/mom_priv/vc-hook
	install -D -o root -g root -m 0755 bin/vc-periodic $(PREFIX)/sbin/vc-periodic

# Hypervisor hosts: vc-dom0 and its Xen vif script or libvirt hook
# (contrib/xen/README.md, contrib/libvirt/README.md).
.PHONY: install-dom0 install-xen install-libvirt
install-dom0: build
	install -D -m 0755 bin/vc-dom0 $(DESTDIR)$(PREFIX)/bin/vc-dom0

install-xen: install-dom0
	install -d $(DESTDIR)/etc/xen/scripts
	ln -sf $(PREFIX)/bin/vc-dom0 $(DESTDIR)/etc/xen/scripts/vif-virtcloud

install-libvirt: install-dom0
	for d in qemu.d libxl.d; do \
	  install -d $(DESTDIR)/etc/libvirt/hooks/$$d && \
	  sed 's#@BINDIR@#$(PREFIX)/bin#' contrib/libvirt/virtcloud-hook > $(DESTDIR)/etc/libvirt/hooks/$$d/virtcloud && \
	  chmod 0755 $(DESTDIR)/etc/libvirt/hooks/$$d/virtcloud || exit 1; \
	done

# Long runs: 50 crash-and-recover runs and 100,000 soak operations.
.PHONY: soak fuzz
soak: build
	scripts/soak.sh

# Every fuzz target for FUZZTIME (default 30s) each.
fuzz:
	scripts/fuzz.sh

# e2e: every scenario of the multi-site testbed (e2e/README.md), on this
# kernel when it has 802.1Q, else in one VM boot; ends with
# `e2e: N passed, M failed`.
.PHONY: e2e
e2e: build
	scripts/phases/48-e2e.sh

# deb: the Debian packages virtcloud-server, virtcloud-node and virtcloud-cli
# in build/deb/, built with nfpm by packaging/ (its own Go module). The
# binaries are position-independent, as Debian builds them.
VERSION ?= 0.1.0+git$(shell git log -1 --format=%cd --date=format:%Y%m%d).$(shell git rev-parse --short HEAD)
.PHONY: deb
deb:
	CGO_ENABLED=0 $(GO) build -trimpath -buildmode=pie -ldflags '-s -w' -o build/deb/bin/ ./cmd/...
	cd packaging && $(GO) run . -root .. -bin ../build/deb/bin -out ../build/deb -version '$(VERSION)'
