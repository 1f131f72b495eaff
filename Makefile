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
