# DNN Lab: two commands on a fresh machine.
#   make run   set up everything and start the app on http://localhost:8501
#   make test  set up everything the tests need and run them
.PHONY: run test lint bench presets screenshots clean

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STREAMLIT_FLAGS ?= --server.headless true --browser.gatherUsageStats false

run: $(VENV)/.installed .cache/mnist.npz
	$(PY) -m streamlit run app.py $(STREAMLIT_FLAGS)

test: $(VENV)/.dev-installed .cache/mnist.npz .cache/browser .cache/nginx .cache/postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint Dockerfile
	DNNLAB_CHROMIUM="$$(cat .cache/browser)" $(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed .cache/mnist.npz
	$(PY) bench/train_overhead.py
	$(PY) bench/predict_latency.py

# Every page at 1280×720 and 1920×1080, presenting and not, into screenshots/ (gitignored).
screenshots: $(VENV)/.dev-installed .cache/mnist.npz .cache/browser
	DNNLAB_CHROMIUM="$$(cat .cache/browser)" $(PY) tools/screenshots.py --out screenshots

# Re-train the shipped presets exactly as they were made: 5 seeds each, 10 epochs
# (<preset> is seed 0, <preset>-seed1 … -seed4), and print the staircase with its spread.
presets: $(VENV)/.installed .cache/mnist.npz
	$(PY) -m dnnlab reproduce --epochs 10 --seeds 5 --save --replace

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# MNIST, verified and cached; works offline once cached (see dnnlab/data.py).
.cache/mnist.npz: | $(VENV)/.installed
	$(PY) -m dnnlab data

# A Chromium for the browser tests: Debian's package where apt is available
# (Playwright's own download needs the open internet), else Playwright's.
.cache/browser: | $(VENV)/.dev-installed
	mkdir -p .cache
	if command -v chromium >/dev/null; then command -v chromium > $@; \
	elif command -v apt-get >/dev/null; then \
		$$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y --no-install-recommends chromium >/dev/null \
		&& command -v chromium > $@; \
	else $(PY) -m playwright install chromium && echo playwright > $@; fi
	test -s $@

# nginx for tests/test_balancer.py (the balancer compose.yaml runs): Debian's package where
# apt is available; without it that test skips and says why.
.cache/nginx:
	mkdir -p .cache
	PATH="$$PATH:/usr/sbin"; command -v nginx >/dev/null || ! command -v apt-get >/dev/null \
		|| { apt="$$(test "$$(id -u)" = 0 || echo sudo) apt-get -q"; $$apt install -y nginx-light \
			|| { $$apt update && $$apt install -y nginx-light; }; } >/dev/null 2>&1 \
		|| echo "nginx-light could not be installed: the balancer test will skip"
	PATH="$$PATH:/usr/sbin" command -v nginx > $@ || true

# Postgres for tests/test_room_store.py (the room's store when several servers share it):
# Debian's package where apt is available; without it those tests skip and say why.
.cache/postgres:
	mkdir -p .cache
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v apt-get >/dev/null \
		|| { apt="$$(test "$$(id -u)" = 0 || echo sudo) apt-get -q"; $$apt install -y postgresql \
			|| { $$apt update && $$apt install -y postgresql; }; } >/dev/null 2>&1 \
		|| echo "postgresql could not be installed: the room's Postgres tests will skip"
	ls /usr/lib/postgresql/*/bin/initdb > $@ 2>/dev/null || true

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
