# make install / make uninstall: scripts/install does the work (PREFIX,
# default /usr/local, and DESTDIR as usual); make test runs every test.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all install uninstall test
all:
	go build ./...
install:
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" ./scripts/install
uninstall:
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" ./scripts/install --uninstall
test:
	./scripts/test
