# FaceGate — one-command set-up on Debian 12.
#   make run    set up, build (release) and start the main job (the HTTP server with the embedded SQLite gallery)
#   make test   set up and run the whole test suite
SHELL := /bin/bash
SWIFT ?= swift
HOST ?= 127.0.0.1
PORT ?= 8080
export FACEGATE_MODELS ?= $(HOME)/.cache/facegate/models

.PHONY: all deps models testdata build build-debug run test bench clean-testdata

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

test: models testdata build-debug
	@scripts/test-prereqs.sh
	SWIFT=$(SWIFT) scripts/with-postgres.sh scripts/run-tests.sh

bench: models testdata build
	.build/release/facegate bench

clean-testdata:
	rm -rf testdata/images
