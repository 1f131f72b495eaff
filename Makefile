# VirtCloud. `make demo` shows it working; `make test` runs the whole suite.
GO       ?= go
BINARIES := leasesrv vcctl vc-dom0 vc-prologue vc-epilogue vc-periodic
PBS_HOME ?= /var/spool/torque
PREFIX   ?= /usr/local

.PHONY: build test demo bench soak fuzz clean $(addprefix bin/,$(BINARIES))

build: $(addprefix bin/,$(BINARIES))

bin/%:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/$*

test: build
	scripts/test.sh

demo: build
	contrib/demo/demo.sh

bench: build
	scripts/bench.sh

clean:
	rm -rf bin
