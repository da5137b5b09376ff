# devsync — a Linux device hotplug broker.
#   make check   install what is missing, build, run every test (the README's and CI's test command)
#   make demo    see it work (until the daemon lands: the shipped profiles matched against a Palm)
#   make bench   run the benchmarks in Benchmarks/ (figures go to docs/benchmarks.md)

SWIFT        ?= swift
PREFIX       ?= /usr/local
DESTDIR      ?=
CONFIG       ?= debug
SWIFT_FLAGS  ?=

# Debian packages the build and the tests need. `make deps` installs the missing ones and is a no-op otherwise.
APT_PACKAGES := libudev-dev libusb-1.0-0-dev libdbus-1-dev libbluetooth-dev \
                umockdev libumockdev-dev gir1.2-umockdev-1.0 python3-gi python3-dbusmock dbus

.PHONY: all deps build check demo bench clean

all: build

deps:
	@./scripts/install-deps $(APT_PACKAGES)

build: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_FLAGS)

# The udev tests drive a umockdev testbed inside the test process, which must run under umockdev's preload.
# They run in a second invocation, so that no other test's child processes inherit a live testbed.
UMOCKDEV_PRELOAD := libumockdev-preload.so.0

check: deps
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_FLAGS) --skip-build --skip UdevMonitorTests
	LD_PRELOAD=$(UMOCKDEV_PRELOAD) $(SWIFT) test $(SWIFT_FLAGS) --skip-build --filter UdevMonitorTests

demo: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product devsyncctl
	./scripts/demo

bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

clean:
	$(SWIFT) package clean
