# Lesson kit — developer entry points.
#   make run    the kit in simulation on this machine (demo teacher and coach)
#   make test   everything the project claims, against real age, rsync, sshd, Chromium
#   make bench  measured figures, written to BENCHMARKS.md
#   make image  the SD-card image (see image-build/README.md)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

# Debian packages the tests and the simulation use. Each is checked with
# dpkg and only the missing ones are installed (needs root or sudo).
DEB_PACKAGES := age rsync espeak-ng sox openssh-server openssh-client ffmpeg chromium sqlite3 iproute2 xz-utils cloud-guest-utils fdisk \
	libnss3-tools tcpdump nftables pebble knot openssl dnsmasq-base

# $(call apt_ensure,PACKAGES): install those of PACKAGES that dpkg does not
# list as installed (as root, or through sudo).
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

.PHONY: run test bench screenshots image deps deps-system deps-python deps-ui deps-npm clean

deps: deps-system deps-python deps-ui

deps-system:
	$(call apt_ensure,$(DEB_PACKAGES))

deps-npm:
	$(call apt_ensure,npm)

deps-python: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Browser libraries from the npm registry at the versions pinned in
# ui/package-lock.json, copied into ui/static/vendor (ignored by git: never
# committed by hand): hls.js for browsers without native HLS, and Photo
# Sphere Viewer (with three.js, its video plugin and equirectangular video
# adapter) for 360° recordings. PSV ships ES modules that import bare
# package names; the copies import each other by path instead, so the page
# needs no import map (which the CSP's script-src 'self' would block).
HLS_JS := ui/static/vendor/hls.min.js
PSV := ui/static/vendor/psv
PSV_FILES := $(PSV)/core.js $(PSV)/video-plugin.js $(PSV)/equirectangular-video-adapter.js \
	$(PSV)/core.css $(PSV)/video-plugin.css $(PSV)/three.module.min.js $(PSV)/three.core.min.js
NPM_STAMP := ui/node_modules/.package-lock.json

deps-ui: $(HLS_JS) $(PSV_FILES)

# npm comes with Node.js on many machines; Debian's own npm only where none is.
$(NPM_STAMP): ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps-npm
	cd ui && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

$(HLS_JS): $(NPM_STAMP)
	mkdir -p $(@D)
	cp ui/node_modules/hls.js/dist/hls.min.js $@

$(PSV)/three.%.js: $(NPM_STAMP)
	mkdir -p $(@D)
	cp ui/node_modules/three/build/three.$*.js $@

$(PSV)/%.css: $(NPM_STAMP)
	mkdir -p $(@D)
	cp ui/node_modules/@photo-sphere-viewer/$*/index.css $@

$(PSV)/%.js: $(NPM_STAMP)
	mkdir -p $(@D)
	sed -e 's#from "three"#from "./three.module.min.js"#g' \
	    -e 's#from "@photo-sphere-viewer/core"#from "./core.js"#g' \
	    ui/node_modules/@photo-sphere-viewer/$*/index.module.js > $@.tmp
	@! grep -nE '^\s*(import|export)\b.*from "[^.]' $@.tmp || { echo "$@: a bare import is left"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# The kit in simulation with a demo teacher and coach; data in ./data (gitignored).
# In a second terminal: .venv/bin/kit button press (the banner says more).
run: deps
	$(VENV)/bin/kit run --simulate --demo --data data

test: deps
	$(PY) -m pytest $(PYTEST_ARGS)

bench: deps
	$(PY) -m bench

# The review app's main pages at phone, iPad and laptop sizes (docs/screenshots/).
screenshots: deps
	$(PY) tests/ui/screenshots.py docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# --- SD-card image (image-build/, tests/image/) ---
# Tools the image build needs on the build machine (Debian); root required.
IMAGE_DEB_PACKAGES := mmdebstrap qemu-user-static binfmt-support arch-test bmap-tools mtools dosfstools fdisk e2fsprogs xz-utils curl gpg
# The boot test: the whole arm64 machine emulated, qcow2 cards for power-cut trials, IT's SSH.
IMAGE_BOOT_DEB_PACKAGES := qemu-system-arm qemu-utils openssh-client openssl
IMAGE_BASE ?= debian

.PHONY: image image-test image-boot-test image-deps

image-deps:
	$(call apt_ensure,$(IMAGE_DEB_PACKAGES) $(IMAGE_BOOT_DEB_PACKAGES))

# lessonkit-<version>-arm64.img.xz (+ .sha256, .img.bmap) in build/image/.
# IMAGE_BASE=raspios for the production image (needs the Raspberry Pi archive).
image: image-deps
	image-build/build.sh --base $(IMAGE_BASE) --out build/image

# Builds the Debian-based image twice and checks both (see tests/image/).
image-test: deps image-deps
	tests/image/run.sh

# Builds the image once and boots it in qemu-system-aarch64: first boot, second
# boot, power cuts (tests/image/test_boot.py); report in build/image-test/.
image-boot-test: deps image-deps
	IMAGE_TEST_BOOT=only tests/image/run.sh
