# Hotline: `make run` sets up and runs the whole system; `make test` sets up and runs the tests.
# Both work on a fresh Debian machine as root: they install what they need themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := ffmpeg sox espeak-ng chromium postgresql postgresql-contrib fonts-wqy-microhei redis-server
STAMP := $(VENV)/.installed

.PHONY: run test lint bench live-test live-test-compose deb venv clean prompts

run: deb venv prompts
	$(BIN)/hotline serve --demo

test: deb venv lint prompts
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile

# The IVR's audio prompts, made from the menus' texts; skips the files that are up to date.
prompts: deb venv
	$(BIN)/hotline prompts

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The live suite (docs/deploy.md, "Live tests"): with a Docker engine, Asterisk and the SIP
# harness in the compose stack; without one, against the Asterisk built and started on this
# machine in LIVE_ASTERISK (the prefix it was installed into).
LIVE_ASTERISK ?= /opt/asterisk

live-test: venv prompts
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory live-test-compose; \
	else tests/live/run-local $(LIVE_ASTERISK); fi

live-test-compose:
	asterisk-config/make-secrets
	export HOTLINE_SECRETS_GID=$$(id -g); \
	docker compose --profile live up -d --build --wait asterisk harness \
	&& docker compose --profile live exec -T harness python3 -m hotline.cli prompts \
	&& docker compose --profile live exec -T harness python3 -m pytest -q -p no:cacheprovider -m live tests/live; \
	status=$$?; docker compose --profile live down; exit $$status

# Debian packages: audio tools for prompts and recordings, chromium for browser tests,
# PostgreSQL for the database tests. Installed only when missing.
deb:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)


clean:
	rm -rf $(VENV) var build *.egg-info
