# SPDX-License-Identifier: Apache-2.0
# devsync — a Linux device hotplug broker.
#   make check   install what is missing, build, run every test (the README's and CI's test command)
#   make demo    see it work: devsyncd on a private bus with fake USB (umockdev) and fake BlueZ, logind, polkit
#                (dbusmock) — plug in, pair, approve, sync through examples/reference-engine, unplug, stop
#   make bench   run the benchmarks in Benchmarks/ (figures go to docs/benchmarks.md)
#   make coverage  how many devices of the system's databases the profiles recognise (docs/coverage.md)
#   make fuzz    build the libFuzzer targets in Fuzz/ with AddressSanitizer and run each FUZZ_SECONDS (docs/fuzzing.md)
#   make release                    release build (devsyncd with the Swift runtime linked in)
#   make orderfile                  profile the release devsyncd, rewrite data/devsyncd.order, relink
#   make install / make uninstall   release build and install under DESTDIR/PREFIX (docs/install.md)

SWIFT        ?= swift
PREFIX       ?= /usr/local
DESTDIR      ?=
CONFIG       ?= debug
SWIFT_FLAGS  ?=

# Debian packages the build and the tests need. `make deps` installs the missing ones and is a no-op otherwise.
APT_PACKAGES := libudev-dev libusb-1.0-0-dev libdbus-1-dev libbluetooth-dev \
                umockdev libumockdev-dev gir1.2-umockdev-1.0 python3-gi python3-dbusmock dbus libglib2.0-bin systemd udev \
                libsystemd-dev syncevolution libgphoto2-dev

.PHONY: all deps build check demo bench coverage fuzz fuzz-build clean release orderfile install install-files install-dirs uninstall

all: build

deps:
	@./scripts/install-deps $(APT_PACKAGES)

build: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_FLAGS)

# The udev tests drive a umockdev testbed inside the test process, which must run under umockdev's preload.
# They run in a second invocation, so that no other test's child processes inherit a live testbed. The end-to-end
# tests (devsyncd as a process over a testbed) get a third: a testbed's UMOCKDEV_DIR is process-global, and two
# suites, each serialized, would still run beside each other.
UMOCKDEV_PRELOAD := libumockdev-preload.so.0
# umockdev builds its testbed below TMPDIR: scripts/private-tmpfs gives the two suites a tmpfs of their own outside
# /dev (Debian 12's umockdev aborts now and then on testbed files under /dev/shm; the script says why).
# tests/system-bus/rig.py runs every user flow on the release tree install-tree.sh built (installed anew into a
# temporary DESTDIR with PREFIX=/usr, as a package is), with the Swift toolchain's libraries out of reach, on a bus
# configured from the distribution's system.conf with the installed policy, devsyncd as root and every client as
# a non-root user (so it needs root: docs/system-bus.md); interrupt-check.sh checks its cleanup.
# A test process that crashes prints only its crashed thread's top frames, without registers or the image list,
# so that the end of a CI log (often all that is kept) names where it crashed; a crash in libdispatch's event loop
# (an upstream bug, scripts/rerun-on-dispatch-crash says which) runs the same tests once more, and says so.
TEST_BACKTRACE := SWIFT_BACKTRACE=enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=16,top=16
check: deps
	./scripts/spdx-headers --check
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	$(TEST_BACKTRACE) ./scripts/rerun-on-dispatch-crash $(SWIFT) test $(SWIFT_FLAGS) --skip-build --skip "UdevMonitorTests|EndToEndTests"
	$(TEST_BACKTRACE) ./scripts/private-tmpfs sh -c \
	    './scripts/rerun-on-dispatch-crash env LD_PRELOAD=$(UMOCKDEV_PRELOAD) $(SWIFT) test $(SWIFT_FLAGS) --skip-build --filter UdevMonitorTests && \
	    ./scripts/rerun-on-dispatch-crash env LD_PRELOAD=$(UMOCKDEV_PRELOAD) $(SWIFT) test $(SWIFT_FLAGS) --skip-build --filter EndToEndTests'
	./tests/install-tree.sh
	tree=$$(mktemp -d) && trap 'rm -rf "$$tree"' EXIT && \
	    $(MAKE) -s install-files DESTDIR=$$tree PREFIX=/usr >/dev/null && \
	    ./scripts/private-tmpfs ./tests/system-bus/rig.py --destdir $$tree --hide-toolchain && \
	    ./scripts/private-tmpfs ./tests/system-bus/agent-rig.py --destdir $$tree --hide-toolchain
	./scripts/private-tmpfs ./tests/system-bus/interrupt-check.sh --build-dir $(BUILD_DIR)
	./tests/demo-check.sh

# The story of docs/demo.md; scripts/demo starts everything in one temporary directory and removes it on exit.
demo: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product devsyncd
	$(SWIFT) build $(SWIFT_FLAGS) --product devsyncctl
	$(SWIFT) build $(SWIFT_FLAGS) --product devsync-agent
	$(SWIFT) build $(SWIFT_FLAGS) --product devsync-engine
	./scripts/demo

bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

# The databases the coverage report reads (docs/coverage.md; libmtp9 for its device table); the kernel's modules.alias comes with an installed
# kernel image (the running kernel may have none: a container's or a VM's), so linux-image-amd64 is one of them.
COVERAGE_PACKAGES := libmtp-common libmtp9 media-player-info libgphoto2-6 usbmuxd linux-image-amd64

coverage: deps
	@./scripts/install-deps $(COVERAGE_PACKAGES)
	$(SWIFT) build $(SWIFT_FLAGS) --product devsyncctl
	./scripts/coverage --devsyncctl $$($(SWIFT) build $(SWIFT_FLAGS) --show-bin-path)/devsyncctl --update docs/coverage.md

# Fuzzing (docs/fuzzing.md). The targets exist only with DEVSYNC_FUZZ=1 (Package.swift) and link only with
# -sanitize=fuzzer, which changes every compile command: hence a scratch path of their own. Each fuzzer starts from
# its seeds in Fuzz/corpus/<target> and keeps what it finds in FUZZ_WORK (the tree stays as it was); a crash
# leaves its input there as crash-*, to be fixed and then added to Fuzz/corpus/<target> as a regression seed.
# `make check` replays the seeds without fuzzing (FuzzEntriesTests). FUZZ_TARGETS=fdi make fuzz runs one.
FUZZ_TARGETS  ?= fdi keyfile config dbus sdp uevent databases
FUZZ_SECONDS  ?= 600
FUZZ_RSS_MB   ?= 2048
FUZZ_SCRATCH  ?= .build-fuzz
FUZZ_WORK     ?= $(FUZZ_SCRATCH)/work
FUZZ_CONFIG   ?= release
# ld.gold (the toolchain's default here) fails on the fuzzers' link with an internal error; ld.lld links them.
FUZZ_FLAGS     = -c $(FUZZ_CONFIG) --scratch-path $(FUZZ_SCRATCH) -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
                 $(if $(LLD),-Xswiftc -use-ld=lld)

fuzz-build: deps
	for target in $(FUZZ_TARGETS); do DEVSYNC_FUZZ=1 $(SWIFT) build $(FUZZ_FLAGS) --product fuzz-$$target || exit 1; done

fuzz: fuzz-build
	bin=$$(DEVSYNC_FUZZ=1 $(SWIFT) build $(FUZZ_FLAGS) --show-bin-path) && \
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/$$target/corpus $(FUZZ_WORK)/$$target/artifacts && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 $$bin/fuzz-$$target $(FUZZ_WORK)/$$target/corpus Fuzz/corpus/$$target \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=10 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_WORK)/$$target/artifacts/ >$(FUZZ_WORK)/$$target/log 2>&1; \
	  status=$$?; tail -n 25 $(FUZZ_WORK)/$$target/log; \
	  [ $$status -eq 0 ] || { echo "fuzz-$$target found a crash: $(FUZZ_WORK)/$$target/artifacts" >&2; exit $$status; }; \
	done

clean:
	$(SWIFT) package clean

# Installation (docs/install.md). `make install-dirs` prints where each file goes.
# devsync's own files follow PREFIX. The daemon goes to libexec, as boltd does: it is started by systemd, never by
# a user.
BINDIR            ?= $(PREFIX)/bin
LIBEXECDIR        ?= $(PREFIX)/libexec
DATADIR           ?= $(PREFIX)/share
SYSCONFDIR        ?= /etc
MANDIR            ?= $(DATADIR)/man
BASHCOMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPLETIONDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPLETIONDIR ?= $(DATADIR)/fish/vendor_completions.d
# The packaged profiles and devsync's configuration directory (devsyncd.conf, the administrator's profiles in
# fdi-profiles/). `make release` compiles both into the binaries (Sources/CInstallPaths), so that the installed
# daemon and devsyncctl read what install-files put, whatever PREFIX is. A plain `swift build` has those of the
# default PREFIX=/usr/local.
PROFILEDIR        ?= $(DATADIR)/devsync/fdi-profiles
CONFIGDIR         ?= $(SYSCONFDIR)/devsync
# The files other programs read go where those programs look, whatever PREFIX is: udev reads rules only below its
# own directory, systemd only its unit directories, polkitd only /usr/share/polkit-1/actions, the bus its own
# datadir. As bolt and udisks2 (meson) do, pkg-config says where (udev.pc, systemd.pc, dbus-1.pc,
# polkit-gobject-1.pc: Debian 12 answers /lib/udev and /lib/systemd/system); without a .pc file, the directory
# the program reads on a merged-/usr system. Each may be set on the command line instead.
PKG_CONFIG        ?= pkg-config
pkg_variable       = $(or $(shell $(PKG_CONFIG) --variable=$(2) $(1) 2>/dev/null),$(3))
UDEVDIR           ?= $(call pkg_variable,udev,udevdir,/usr/lib/udev)
UDEVRULESDIR      ?= $(UDEVDIR)/rules.d
SYSTEMDUNITDIR    ?= $(call pkg_variable,systemd,systemdsystemunitdir,/usr/lib/systemd/system)
SYSTEMDUSERUNITDIR ?= $(call pkg_variable,systemd,systemduserunitdir,/usr/lib/systemd/user)
# The desktop agent's autostart file, for sessions systemd does not manage (the XDG autostart specification's
# system-wide directory; it says X-systemd-skip=true, so systemd-managed sessions run the user unit instead).
XDGAUTOSTARTDIR   ?= $(SYSCONFDIR)/xdg/autostart
SYSTEMDCATALOGDIR ?= $(call pkg_variable,systemd,catalogdir,/usr/lib/systemd/catalog)
DBUSDATADIR       ?= $(call pkg_variable,dbus-1,datadir,/usr/share)
DBUSPOLICYDIR     ?= $(DBUSDATADIR)/dbus-1/system.d
DBUSSERVICEDIR    ?= $(call pkg_variable,dbus-1,system_bus_services_dir,$(DBUSDATADIR)/dbus-1/system-services)
DBUSINTERFACEDIR  ?= $(call pkg_variable,dbus-1,interfaces_dir,$(DBUSDATADIR)/dbus-1/interfaces)
POLKITACTIONDIR   ?= $(call pkg_variable,polkit-gobject-1,policydir,/usr/share/polkit-1/actions)
# Where install-files takes the binaries from; `make release` (and so `make install`) builds both there.
BUILD_DIR         ?= $(STATIC_SCRATCH)/release
DAEMON_BUILD_DIR  ?= $(BUILD_DIR)
# Installed binaries are stripped (devsyncd 27 → 12 MB, devsyncctl 30 → 15 MB). STRIP=: installs them as built,
# for a packaging tool that strips and splits them itself (dh_strip, rpm's find-debuginfo). DEBUGDIR=/usr/lib/debug
# keeps the debug information there first (DEBUGDIR/LIBEXECDIR/devsyncd.debug…, named by the binary's
# .gnu_debuglink, where gdb looks), for a -dbg package.
STRIP             ?= strip
OBJCOPY           ?= objcopy
DEBUGDIR          ?=
# Both release binaries link the Swift runtime in (--static-swift-stdlib): nothing of the toolchain is needed at
# run time, only libc, libstdc++ and the C libraries (libdbus, libudev, libusb, libbluetooth). devsyncd is about
# 1.3 MB smaller in memory so (docs/benchmarks.md, "devsyncd: memory"); devsyncctl imports FoundationEssentials,
# not Foundation, whose ICU would add about 45 MB (docs/install.md). The flag changes every compile
# command, hence a scratch path of its own, which both share.
STATIC_SCRATCH    ?= .build-static
# The kernel maps code 64 KiB around each page fault, so where a function lies decides what becomes resident.
# With the toolchain's ld.lld, devsyncd is linked with every function in a section of its own, placed in the
# order of data/devsyncd.order (the functions it runs, found by `make orderfile`: those never run stay in pages
# never touched), its relative relocations packed (DT_RELR, glibc 2.36) and no symbol table exported for
# dlopen'ed modules it has none of (static-stdlib-args.lnk asks for -export-dynamic): 18.3 → 13.2 MB resident
# with 100 devices, 11.4–11.8 MB with libstdc++.a below (docs/benchmarks.md, "code layout"). Without ld.lld the
# link is the toolchain's default, and larger.
# A name in the order file that no longer exists costs memory, never the link.
SWIFT_BIN_DIR     := $(abspath $(shell $(SWIFT) -print-target-info 2>/dev/null | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')/../../bin)
LLD               ?= $(firstword $(wildcard $(SWIFT_BIN_DIR)/ld.lld) $(shell command -v ld.lld))
DAEMON_ORDER_FILE ?= data/devsyncd.order
GLIBC_HAS_RELR    := $(shell getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ split($$2, v, "."); print (v[1] > 2 || (v[1] == 2 && v[2] >= 36)) ? "yes" : "" }')
# Function sections: swiftc skips code generation when a module's IR is unchanged, whatever the code generation
# flags; hence -disable-incremental-llvm-codegen, or a scratch path built before would keep its objects.
DAEMON_RELEASE_FLAGS := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -Xfrontend \
                        -Xswiftc -disable-incremental-llvm-codegen -Xcc -ffunction-sections
# devsyncctl is built with the same flags (so the modules both link are compiled once), but without devsyncd's
# link map and order file (DAEMON_LINK_FLAGS).
DAEMON_LINK_FLAGS :=
ifneq ($(LLD),)
DAEMON_RELEASE_FLAGS += -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic -Xlinker $(abspath data/devsyncd-text.ld)
DAEMON_LINK_FLAGS    += -Xlinker -Map=$(abspath $(STATIC_SCRATCH))/devsyncd.map
ifneq ($(wildcard $(DAEMON_ORDER_FILE)),)
DAEMON_LINK_FLAGS    += -Xlinker --symbol-ordering-file=$(abspath $(DAEMON_ORDER_FILE)) -Xlinker --no-warn-symbol-ordering
endif
ifneq ($(GLIBC_HAS_RELR),)
DAEMON_RELEASE_FLAGS += -Xlinker -z -Xlinker pack-relative-relocs
endif
# The Swift runtime is C++: static-stdlib-args.lnk asks for -lstdc++, which the linker takes from the first
# directory holding a libstdc++.so. $(STATIC_SCRATCH)/libstdc++ holds one that is a linker script naming GCC's
# libstdc++.a, so that the few parts of it the runtime uses are linked in (and ordered) instead of mapping
# libstdc++.so.6 (1.1 MB resident).
LIBSTDCXX_A       := $(shell $(SWIFT_BIN_DIR)/clang -print-file-name=libstdc++.a 2>/dev/null)
ifneq ($(filter /%,$(wildcard $(LIBSTDCXX_A))),)
DAEMON_RELEASE_FLAGS += -Xswiftc -L$(abspath $(STATIC_SCRATCH))/libstdc++
endif
endif

PROFILES := $(notdir $(wildcard fdi-profiles/*.fdi))
INSTALL  ?= install

# The installation directories the binaries are built for (Sources/CInstallPaths/install_paths.c).
INSTALL_PATH_FLAGS := -Xcc '-DDEVSYNC_PROFILEDIR="$(PROFILEDIR)"' -Xcc '-DDEVSYNC_CONFIGDIR="$(CONFIGDIR)"'
# --disable-local-rpath: no RUNPATH $ORIGIN, which an installed binary must not have (a library dropped next to
# it would be loaded), and which a static runtime does not need.
RELEASE_FLAGS      = -c release $(SWIFT_FLAGS) --static-swift-stdlib --disable-local-rpath --scratch-path $(STATIC_SCRATCH) \
                     $(DAEMON_RELEASE_FLAGS) $(INSTALL_PATH_FLAGS)

release:
ifeq ($(LLD),)
	@echo "make release: no ld.lld next to $(SWIFT) or on PATH; devsyncd is linked without its order file (more memory)" >&2
endif
	@# SwiftPM relinks when the flags change, not when the order file does.
	@if [ -f $(DAEMON_ORDER_FILE) ] && [ $(DAEMON_ORDER_FILE) -nt $(STATIC_SCRATCH)/release/devsyncd ] || \
	    [ data/devsyncd-text.ld -nt $(STATIC_SCRATCH)/release/devsyncd ]; then \
	    rm -f $(STATIC_SCRATCH)/release/devsyncd; fi
ifneq ($(filter -Xswiftc -L%/libstdc++,$(DAEMON_RELEASE_FLAGS)),)
	mkdir -p $(STATIC_SCRATCH)/libstdc++
	echo 'INPUT($(LIBSTDCXX_A))' > $(STATIC_SCRATCH)/libstdc++/libstdc++.so
endif
	$(SWIFT) build $(RELEASE_FLAGS) --product devsyncd $(DAEMON_LINK_FLAGS)
	$(SWIFT) build $(RELEASE_FLAGS) --product devsyncctl
	$(SWIFT) build $(RELEASE_FLAGS) --product devsync-agent
	$(SWIFT) build $(RELEASE_FLAGS) --product devsync-engine

# Profiles the release devsyncd under valgrind and rewrites data/devsyncd.order (Benchmarks/Daemon/orderfile.py);
# `make release` then links with it. Rerun after changes that rename or add many functions.
orderfile: release
	@command -v valgrind >/dev/null || { echo "make orderfile: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
	@test -n "$(LLD)" || { echo "make orderfile: needs ld.lld (the link map)" >&2; exit 1; }
	/usr/bin/python3 Benchmarks/Daemon/orderfile.py --binary $(STATIC_SCRATCH)/release/devsyncd \
	    --map $(STATIC_SCRATCH)/devsyncd.map --ctl $(STATIC_SCRATCH)/release/devsyncctl --output $(DAEMON_ORDER_FILE)
	$(MAKE) release

install: release
	$(MAKE) install-files BUILD_DIR=$(STATIC_SCRATCH)/release DAEMON_BUILD_DIR=$(STATIC_SCRATCH)/release

# Where each file goes, one VARIABLE=directory a line (for packagers, and for tests/install-tree.sh).
install-dirs:
	@$(foreach v,BINDIR LIBEXECDIR DATADIR SYSCONFDIR MANDIR PROFILEDIR CONFIGDIR UDEVRULESDIR SYSTEMDUNITDIR SYSTEMDCATALOGDIR \
	    SYSTEMDUSERUNITDIR XDGAUTOSTARTDIR \
	    DBUSPOLICYDIR DBUSSERVICEDIR DBUSINTERFACEDIR POLKITACTIONDIR BASHCOMPLETIONDIR ZSHCOMPLETIONDIR \
	    FISHCOMPLETIONDIR DEBUGDIR,echo '$(v)=$($(v))';)

# Strips an installed binary ($(1), without DESTDIR); with DEBUGDIR, keeps its debug information in
# DEBUGDIR$(1).debug first and names that file in the stripped binary.
define strip-installed
	$(if $(DEBUGDIR),$(INSTALL) -d $(dir $(DESTDIR)$(DEBUGDIR)$(1)))
	$(if $(DEBUGDIR),$(OBJCOPY) --only-keep-debug $(DESTDIR)$(1) $(DESTDIR)$(DEBUGDIR)$(1).debug)
	$(if $(DEBUGDIR),chmod 644 $(DESTDIR)$(DEBUGDIR)$(1).debug)
	$(STRIP) --strip-all $(DESTDIR)$(1)
	$(if $(DEBUGDIR),$(OBJCOPY) --add-gnu-debuglink=$(DESTDIR)$(DEBUGDIR)$(1).debug $(DESTDIR)$(1))
endef

# Substitutes the installation directories into data/*.in.
SUBSTITUTE = sed -e 's|@libexecdir@|$(LIBEXECDIR)|g' -e 's|@systemdunitdir@|$(SYSTEMDUNITDIR)|g' \
                 -e 's|@bindir@|$(BINDIR)|g' -e 's|@systemduserunitdir@|$(SYSTEMDUSERUNITDIR)|g' \
                 -e 's|@profiledir@|$(PROFILEDIR)|g' -e 's|@configdir@|$(CONFIGDIR)|g'

# Installs prebuilt binaries from BUILD_DIR (devsyncd from DAEMON_BUILD_DIR) and the system files; no build, so
# `sudo make install-files` after a `make release` leaves no root-owned .build behind. The binaries must have
# been built for the same directories (`make release` with the same PREFIX, PROFILEDIR and CONFIGDIR).
install-files:
	@$(BUILD_DIR)/devsyncctl profiles --help | tr -s ' \n' '  ' | grep -qF -- '$(PROFILEDIR) then $(CONFIGDIR)/fdi-profiles' || \
	    { echo "make install-files: $(BUILD_DIR)/devsyncctl was not built for PROFILEDIR=$(PROFILEDIR) CONFIGDIR=$(CONFIGDIR);" \
	           "run make release with the same PREFIX (and directories) first" >&2; exit 1; }
	$(INSTALL) -D -m 755 $(DAEMON_BUILD_DIR)/devsyncd $(DESTDIR)$(LIBEXECDIR)/devsyncd
	$(call strip-installed,$(LIBEXECDIR)/devsyncd)
	$(INSTALL) -D -m 755 $(BUILD_DIR)/devsyncctl $(DESTDIR)$(BINDIR)/devsyncctl
	$(call strip-installed,$(BINDIR)/devsyncctl)
	$(INSTALL) -D -m 755 $(BUILD_DIR)/devsync-agent $(DESTDIR)$(BINDIR)/devsync-agent
	$(call strip-installed,$(BINDIR)/devsync-agent)
	@# The agent's user unit is on in every graphical session (the link a package's `systemctl --global enable`
	@# would make); the autostart file serves sessions without systemd.
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUSERUNITDIR)/graphical-session.target.wants $(DESTDIR)$(XDGAUTOSTARTDIR)
	$(SUBSTITUTE) data/devsync-agent.service.in > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-agent.service
	chmod 644 $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-agent.service
	ln -sf ../devsync-agent.service $(DESTDIR)$(SYSTEMDUSERUNITDIR)/graphical-session.target.wants/devsync-agent.service
	$(SUBSTITUTE) data/devsync-agent.desktop.in > $(DESTDIR)$(XDGAUTOSTARTDIR)/devsync-agent.desktop
	chmod 644 $(DESTDIR)$(XDGAUTOSTARTDIR)/devsync-agent.desktop
	$(INSTALL) -D -m 755 $(BUILD_DIR)/devsync-engine $(DESTDIR)$(BINDIR)/devsync-engine
	$(call strip-installed,$(BINDIR)/devsync-engine)
	$(SUBSTITUTE) data/devsync-engine.service.in > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-engine.service
	chmod 644 $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-engine.service
	$(INSTALL) -D -m 644 data/engine.conf.example $(DESTDIR)$(DATADIR)/devsync/engine.conf.example
	$(INSTALL) -D -m 644 docs/man/devsync-engine.1 $(DESTDIR)$(MANDIR)/man1/devsync-engine.1
	$(INSTALL) -d $(DESTDIR)$(PROFILEDIR)
	$(INSTALL) -m 644 $(addprefix fdi-profiles/,$(PROFILES)) $(DESTDIR)$(PROFILEDIR)/
	$(INSTALL) -D -m 644 rules/70-devsync.rules $(DESTDIR)$(UDEVRULESDIR)/70-devsync.rules
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DBUSSERVICEDIR)
	$(SUBSTITUTE) data/devsyncd.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/devsyncd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/devsyncd.service
	$(INSTALL) -D -m 644 data/devsyncd.catalog $(DESTDIR)$(SYSTEMDCATALOGDIR)/devsyncd.catalog
	$(SUBSTITUTE) data/org.devsync.Broker1.service.in > $(DESTDIR)$(DBUSSERVICEDIR)/org.devsync.Broker1.service
	chmod 644 $(DESTDIR)$(DBUSSERVICEDIR)/org.devsync.Broker1.service
	$(INSTALL) -D -m 644 data/org.devsync.Broker1.conf $(DESTDIR)$(DBUSPOLICYDIR)/org.devsync.Broker1.conf
	$(INSTALL) -D -m 644 data/org.devsync.Broker1.xml $(DESTDIR)$(DBUSINTERFACEDIR)/org.devsync.Broker1.xml
	$(INSTALL) -D -m 644 data/org.devsync.policy $(DESTDIR)$(POLKITACTIONDIR)/org.devsync.policy
	@# An administrator's edited configuration is kept.
	test -e $(DESTDIR)$(CONFIGDIR)/devsyncd.conf || { $(INSTALL) -d $(DESTDIR)$(CONFIGDIR) && \
	    $(SUBSTITUTE) data/devsyncd.conf.in > $(DESTDIR)$(CONFIGDIR)/devsyncd.conf && \
	    chmod 644 $(DESTDIR)$(CONFIGDIR)/devsyncd.conf; }
	$(INSTALL) -D -m 644 docs/man/devsyncctl.1 $(DESTDIR)$(MANDIR)/man1/devsyncctl.1
	$(INSTALL) -D -m 644 docs/man/devsyncd.8 $(DESTDIR)$(MANDIR)/man8/devsyncd.8
	$(INSTALL) -D -m 644 docs/man/devsync-agent.1 $(DESTDIR)$(MANDIR)/man1/devsync-agent.1
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPLETIONDIR) $(DESTDIR)$(ZSHCOMPLETIONDIR) $(DESTDIR)$(FISHCOMPLETIONDIR)
	$(BUILD_DIR)/devsyncctl --generate-completion-script bash > $(DESTDIR)$(BASHCOMPLETIONDIR)/devsyncctl
	$(BUILD_DIR)/devsyncctl --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPLETIONDIR)/_devsyncctl
	$(BUILD_DIR)/devsyncctl --generate-completion-script fish > $(DESTDIR)$(FISHCOMPLETIONDIR)/devsyncctl.fish

# Removes exactly what install-files put: the configuration only while it is still the shipped one, and only
# the directories that are devsync's own.
uninstall:
	rm -f $(DESTDIR)$(LIBEXECDIR)/devsyncd $(DESTDIR)$(BINDIR)/devsyncctl $(DESTDIR)$(BINDIR)/devsync-agent \
	    $(DESTDIR)$(BINDIR)/devsync-engine
	$(if $(DEBUGDIR),rm -f $(DESTDIR)$(DEBUGDIR)$(LIBEXECDIR)/devsyncd.debug $(DESTDIR)$(DEBUGDIR)$(BINDIR)/devsyncctl.debug \
	    $(DESTDIR)$(DEBUGDIR)$(BINDIR)/devsync-agent.debug $(DESTDIR)$(DEBUGDIR)$(BINDIR)/devsync-engine.debug)
	rm -f $(DESTDIR)$(SYSTEMDUSERUNITDIR)/graphical-session.target.wants/devsync-agent.service \
	    $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-agent.service $(DESTDIR)$(XDGAUTOSTARTDIR)/devsync-agent.desktop
	@rmdir $(DESTDIR)$(SYSTEMDUSERUNITDIR)/graphical-session.target.wants 2>/dev/null || true
	rm -f $(DESTDIR)$(SYSTEMDUSERUNITDIR)/devsync-engine.service $(DESTDIR)$(DATADIR)/devsync/engine.conf.example
	rm -f $(addprefix $(DESTDIR)$(PROFILEDIR)/,$(PROFILES))
	@rmdir $(DESTDIR)$(PROFILEDIR) $(dir $(DESTDIR)$(PROFILEDIR)) 2>/dev/null || true
	rm -f $(DESTDIR)$(UDEVRULESDIR)/70-devsync.rules $(DESTDIR)$(SYSTEMDUNITDIR)/devsyncd.service
	rm -f $(DESTDIR)$(SYSTEMDCATALOGDIR)/devsyncd.catalog
	rm -f $(DESTDIR)$(DBUSPOLICYDIR)/org.devsync.Broker1.conf $(DESTDIR)$(DBUSSERVICEDIR)/org.devsync.Broker1.service
	rm -f $(DESTDIR)$(DBUSINTERFACEDIR)/org.devsync.Broker1.xml
	rm -f $(DESTDIR)$(POLKITACTIONDIR)/org.devsync.policy
	! $(SUBSTITUTE) data/devsyncd.conf.in | cmp -s - $(DESTDIR)$(CONFIGDIR)/devsyncd.conf || \
	    rm -f $(DESTDIR)$(CONFIGDIR)/devsyncd.conf
	@rmdir $(DESTDIR)$(CONFIGDIR) 2>/dev/null || true
	rm -f $(DESTDIR)$(MANDIR)/man1/devsyncctl.1 $(DESTDIR)$(MANDIR)/man8/devsyncd.8 $(DESTDIR)$(MANDIR)/man1/devsync-agent.1 \
	    $(DESTDIR)$(MANDIR)/man1/devsync-engine.1
	rm -f $(DESTDIR)$(BASHCOMPLETIONDIR)/devsyncctl $(DESTDIR)$(ZSHCOMPLETIONDIR)/_devsyncctl \
	    $(DESTDIR)$(FISHCOMPLETIONDIR)/devsyncctl.fish
