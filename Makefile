# FaceGate — one-command set-up on Debian 12.
#   make run    set up, build (release) and start the main job (the HTTP server with the embedded SQLite gallery)
#   make test   set up and run the whole test suite
SHELL := /bin/bash
SWIFT ?= swift
HOST ?= 127.0.0.1
PORT ?= 8080
export FACEGATE_MODELS ?= $(HOME)/.cache/facegate/models

.PHONY: all deps models testdata build build-debug run test bench clean-testdata pam

all: build

deps:
	@scripts/install-deps.sh

models: deps
	@scripts/fetch-models.sh "$(FACEGATE_MODELS)"

testdata:
	@scripts/fetch-testdata.sh

build: deps
	$(SWIFT) build -c release --product facegate

build-debug: deps
	$(SWIFT) build --build-tests

run: models build
	.build/release/facegate serve --host $(HOST) --port $(PORT)

test: export FACEGATE_MODEL_MIRROR ?= $(CURDIR)/../shared/fixtures/models
test: models testdata build-debug
	@scripts/test-prereqs.sh
	SWIFT=$(SWIFT) scripts/with-postgres.sh scripts/run-tests.sh

# The face-unlock PAM module (C, libpam + libc only; docs/face-unlock.md).
pam: .build/pam/pam_facegate.so
.build/pam/pam_facegate.so: pam/pam_facegate.c
	@mkdir -p .build/pam
	cc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -lpam

# Face unlock: module, daemon unit, pam-auth-update profile, configuration (pam/unlock/install.sh). DESTDIR=DIR stages
# into a directory without touching the system; enabling it in the PAM stack stays `pam-auth-update --enable facegate`.
.PHONY: install-unlock uninstall-unlock install-pam uninstall-pam
install-unlock: pam
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" pam/unlock/install.sh install
uninstall-unlock:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" PURGE="$(PURGE)" pam/unlock/install.sh uninstall
# The same two targets under the names the face-unlock issue and other PAM projects use.
install-pam: install-unlock
uninstall-pam: uninstall-unlock

bench: models testdata build
	.build/release/facegate bench

clean-testdata:
	rm -rf testdata/images

# Benchmark suite (ordo-one/benchmark, Benchmarks/FaceGateBenchmarks; see docs/benchmarks.md). Built only with
# FACEGATE_BENCHMARKS=1 and in its own build folder, so `make build`/`make test` never resolve it. The first build
# takes 20+ minutes on 2 cores. BENCH_ARGS passes options, e.g. BENCH_ARGS='--filter Detect'.
#   make benchmarks        run the suite (wall clock, thread CPU, peak RSS, mallocs per stage)
#   make benchmarks-check  run it and compare each p90 with the issue targets in Benchmarks/Thresholds; fails unless
#                          every checked value is better than (or equal to) its target (`swift package` exits 1
#                          for "better" and "worse" alike, so the tool's verdict line decides)
BENCH_SWIFT_PACKAGE = FACEGATE_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench benchmark
.PHONY: benchmarks benchmarks-check
benchmarks: models testdata
	$(BENCH_SWIFT_PACKAGE) --target FaceGateBenchmarks $(BENCH_ARGS)

benchmarks-check: models testdata
	@mkdir -p .build-bench
	$(BENCH_SWIFT_PACKAGE) thresholds check --target FaceGateBenchmarks --path Benchmarks/Thresholds $(BENCH_ARGS) 2>&1 \
	  | tee .build-bench/thresholds-check.log
	@grep -qE "is (BETTER than|EQUAL to) the defined thresholds" .build-bench/thresholds-check.log
