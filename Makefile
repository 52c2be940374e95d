# goqmail: the two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin
PROGRAMS := goqmaild goqmail goqmail-queue goqmail-send goqmail-lspawn goqmail-local goqmail-smtpd goqmail-sendmail goqmail-remote goqmail-auth goqmail-pop3d goqmail-log goqmail-metrics goqmail-qmail-queue goqmail-dkimsign goqmail-acme goqmail-vacation goqmail-webmbox goqmail-web
DEMO ?= demo

.PHONY: build run test fuzz crash powercut bench screenshots clean

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(PROGRAMS))

# Build, create the self-contained demo directory (once), start the server
# in the foreground on 127.0.0.1:2525. Ctrl-C stops it.
run: build
	GOQMAIL_LISTEN_SUBMISSION=127.0.0.1:2587 GOQMAIL_LISTEN_POP3=127.0.0.1:2110 GOQMAIL_LISTEN_WEB=127.0.0.1:2443 $(BIN)/goqmail init $(DEMO)
	$(BIN)/goqmaild $(DEMO)

# Unit, fuzz-seed, golden-dialog and end-to-end tests (real binaries, real
# clients: swaks, msmtp, mblaze), the unit tests again under the race
# detector, and a short fuzz of every parser. Installs nothing; .ci/run
# installs the clients.
test: build
	$(GO) vet ./...
	GOQMAIL_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m ./internal/...
	FUZZTIME=3s ./scripts/fuzz-brief.sh

# Longer fuzzing of every parser that sees the network: make fuzz FUZZTIME=10m
fuzz:
	FUZZTIME=$(or $(FUZZTIME),1m) ./scripts/fuzz-brief.sh

# Crash campaign (docs/crash.md): thousands of messages, dozens of SIGKILLs.
crash: build
	GOQMAIL_BIN=$(CURDIR)/$(BIN) $(GO) run ./scripts/crashtest $(CRASH_ARGS)

# Power-loss campaign (docs/crash.md, "Power loss"): the queue and the
# Maildirs on crashfs, 500 power cuts. Needs root and /dev/fuse.
# make powercut POWERCUT_ARGS='-syncmode syncfs -seed 7'
powercut: build
	GOQMAIL_BIN=$(CURDIR)/$(BIN) $(GO) run ./scripts/crashtest powercut -cuts 500 $(POWERCUT_ARGS)

# Benchmark against Postfix (docs/bench.md). Needs root and the postfix package.
bench: build
	GOQMAIL_BIN=$(CURDIR)/$(BIN) $(GO) run ./scripts/bench $(BENCH_ARGS)

# The pictures of the web pages in docs/screenshots (shown in the README),
# taken by the browser tests in Debian's chromium. Needs root.
screenshots: build
	GOQMAIL_SCREENSHOTS=$(CURDIR)/docs/screenshots GOQMAIL_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run 'TestWeb|TestHostileCorpusWebmail' ./test/e2e

clean:
	rm -rf $(BIN)
