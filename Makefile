# The two commands of the README: `make run` and `make test`. Everything else is set-up they share.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# gunicorn worker processes of `make serve`.
WEB_WORKERS ?= 2
SEED_PASSWORD ?= icp-demo-2024
# How long `make run`/`make serve` wait for the web server and the worker to stop before killing them.
STOP_SECONDS ?= 9
# The web server's port; settings derive SITE_URL (links in emails) from it.
export PORT
# The Partner Center sandbox of `make run` (sandbox/, `python -m sandbox`): Microsoft's stand-in on this machine.
SANDBOX_PORT ?= 8001
# PostgreSQL and Redis for the PostgreSQL passes of the suite (started by `make services`). The reliability
# pass has a database and a Redis database of its own: the other pass empties its Redis database (the API
# throttle's cache.clear()), which would take the reliability workers' queued tasks with it.
TEST_DATABASE_URL ?= postgres://icp:icp@127.0.0.1:5432/icp
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
TEST_RELIABILITY_DATABASE_URL ?= $(TEST_DATABASE_URL)_reliability
TEST_RELIABILITY_REDIS_URL ?= redis://127.0.0.1:6379/1
TEST_VENDOR_RELIABILITY_DATABASE_URL ?= $(TEST_DATABASE_URL)_vendor
TEST_VENDOR_RELIABILITY_REDIS_URL ?= redis://127.0.0.1:6379/2

.PHONY: mutants run serve test worker install migrate seed services browser check-deploy bench bench-tree bench-vendor bench-midnight bench-renewals messages clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.11-compatible interpreter" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q ".[test]"
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --password "$(SEED_PASSWORD)"

# The web server ($(1)) beside the import worker (`manage.py imports_worker`: a qcluster per lane,
# jobs and outbox, plus the dispatcher), and, when given, a service started first ($(2): the Partner Center
# sandbox of `make run`). Ctrl-C, or SIGTERM to make (which make passes on to this shell), stops them all:
# each gets SIGTERM, and whatever still runs after STOP_SECONDS is killed. The worker stops its
# clusters itself (each in its own process group, see imports/engine/worker.py), and if it is killed the
# kernel stops them too, so no process is left behind. (A non-interactive shell's background
# jobs ignore SIGINT; the trap below is what turns Ctrl-C into the stop.) Any of them ending stops the others.
define RUN_WITH_WORKER
	@bash -c 'sandbox=; $(if $(2),$(2) & sandbox=$$!;) \
	  $(PY) manage.py imports_worker & worker=$$!; \
	  $(1) & web=$$!; \
	  stop() { trap - INT TERM; echo "Stopping..."; kill -TERM $$web $$worker $$sandbox 2>/dev/null; \
	    for _ in $$(seq 1 $$(( $(STOP_SECONDS) * 10 ))); do \
	      kill -0 $$web 2>/dev/null || kill -0 $$worker 2>/dev/null || kill -0 $$sandbox 2>/dev/null || break; \
	      sleep 0.1; done; \
	    kill -KILL $$web $$worker $$sandbox 2>/dev/null; wait; exit 0; }; \
	  trap stop INT TERM; wait -n; stop'
endef

# Development server with the demo data, a worker and the Partner Center sandbox, on SQLite. The portal is
# pointed at the sandbox (production points MICROSOFT_API_URL and MICROSOFT_TOKEN_URL at Microsoft).
run: export MICROSOFT_API_URL = http://127.0.0.1:$(SANDBOX_PORT)
run: export MICROSOFT_TOKEN_URL = http://127.0.0.1:$(SANDBOX_PORT)/sandbox/oauth2/v2.0/token
run: export MICROSOFT_ENABLED = true
run: seed
	@echo "Starting the Partner Center sandbox on http://127.0.0.1:$(SANDBOX_PORT), the import worker and the web server on http://127.0.0.1:$(PORT)"
	$(call RUN_WITH_WORKER,$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload,$(PY) -m sandbox --host 127.0.0.1 --port $(SANDBOX_PORT))

# Production: gunicorn (WEB_WORKERS processes, static files by WhiteNoise) and one worker, on
# 127.0.0.1:$(PORT) behind a TLS-terminating proxy that sets X-Forwarded-Proto. Needs
# DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS. Ctrl-C/SIGTERM stops both, as in `run`.
serve: export DJANGO_ENV = production
serve: install
	@test -n "$$DJANGO_SECRET_KEY" || { echo "make serve: set DJANGO_SECRET_KEY" >&2; exit 1; }
	@test -n "$$DJANGO_ALLOWED_HOSTS" || { echo "make serve: set DJANGO_ALLOWED_HOSTS" >&2; exit 1; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	@echo "Starting the import worker and gunicorn ($(WEB_WORKERS) workers) on http://127.0.0.1:$(PORT)"
	$(call RUN_WITH_WORKER,$(VENV)/bin/gunicorn config.wsgi --bind 127.0.0.1:$(PORT) --workers $(WEB_WORKERS) --graceful-timeout 5 --access-logfile -)

# One more worker (run it on as many machines as you like, all sharing DATABASE_URL/REDIS_URL).
worker: migrate
	$(PY) manage.py imports_worker

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL and Redis for the concurrency and broker tests, started without systemd.
services:
	@bash .ci/services

# The suite in four passes side by side (.ci/side-by-side: each pass's log streamed behind its name, the
# status fails if any fails, Ctrl-C/SIGTERM stops them all cleanly), so that the passes' waiting (real
# processes starting and stopping, leases, bursts) overlaps the others' work on the two cores:
# - sqlite: every test on SQLite but SQLITE_PROCESS_TESTS and the browser's;
# - processes: SQLITE_PROCESS_TESTS (`make run`, `make serve`, `imports_worker` on SQLite files of their own),
#   then VENDOR_RELIABILITY_TESTS (real workers, the sandbox and PostgreSQL: mostly waiting, so they fit
#   beside the others), on a database and a Redis database of their own;
# - postgres: every test but the reliability suite on PostgreSQL and Redis (tests marked `once` skip there);
# - reliability: the rest of tests/reliability (real workers on PostgreSQL and Redis), on a database and a
#   Redis database of its own (the postgres pass's cache.clear() empties its Redis database), then the
#   browser tests (Chromium) on SQLite.
# The PostgreSQL passes start the servers first (.ci/services).
SQLITE_PROCESS_TESTS := tests/test_make_run.py tests/test_serve.py tests/imports/test_worker_process.py
BROWSER_TESTS := tests/browser
VENDOR_RELIABILITY_TESTS := $(addprefix tests/reliability/,test_vendor_burst.py test_vendor_kills.py \
	test_vendor_outages.py test_bench_midnight.py)
PYTEST := DJANGO_ALLOW_ASYNC_UNSAFE=true exec $(PY) -m pytest -q
test: install browser
	$(PY) manage.py makemigrations --check --dry-run >/dev/null
	$(VENV)/bin/lint-imports --no-cache
	@exec bash .ci/side-by-side \
		sqlite "$(PYTEST) $(addprefix --ignore=,$(SQLITE_PROCESS_TESTS) $(BROWSER_TESTS))" \
		processes "($(PYTEST) $(SQLITE_PROCESS_TESTS)) && bash .ci/services && \
			DATABASE_URL=$(TEST_VENDOR_RELIABILITY_DATABASE_URL) REDIS_URL=$(TEST_VENDOR_RELIABILITY_REDIS_URL) \
			$(PYTEST) -p no:randomly $(VENDOR_RELIABILITY_TESTS)" \
		postgres "bash .ci/services && DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
			$(PYTEST) -p no:randomly --ignore=tests/reliability" \
		reliability "bash .ci/services && (DATABASE_URL=$(TEST_RELIABILITY_DATABASE_URL) \
			REDIS_URL=$(TEST_RELIABILITY_REDIS_URL) $(PYTEST) -p no:randomly tests/reliability \
			$(addprefix --ignore=,$(VENDOR_RELIABILITY_TESTS))) && $(PYTEST) $(BROWSER_TESTS)"

check-deploy: install
	DJANGO_ENV=production DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(64))') \
		DJANGO_ALLOWED_HOSTS=portal.example.com $(PY) manage.py check --deploy --fail-level WARNING

# Set BENCH_POSTGRES_URL (a user with CREATEDB) to add real clusters on PostgreSQL.
bench: migrate
	$(PY) manage.py bench_dispatch --jobs 10000

# The vendor path's benchmark (issue 25): 1,000 jobs due at once placed with the Partner Center sandbox (its own
# process, 100 ms a call) by 1 cluster x 2 workers on PostgreSQL, beside Send to backend off and the vendor's own
# floor, then a 500-job burst with the sandbox failing calls (its ledger counts). Temporary databases on
# BENCH_POSTGRES_URL (a user with CREATEDB; default the server `make services` starts).
BENCH_POSTGRES_URL ?= postgres://icp:icp@127.0.0.1:5432/icp
bench-vendor: install services
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(PY) manage.py bench_vendor --jobs 1000 --latency-ms 100 --layout 1x2 --fault-jobs 500

# Midnight on the 1st (issue 26): 10,000 jobs over 1,000 customer tenants due at one instant, placed with the
# Partner Center sandbox (its own process, 100 ms ± 50 ms a call) by 2 imports_worker x 2 workers on PostgreSQL, their
# emails sent to a local SMTP server, beside the same burst with Send to backend off. Its last line: jobs, emails,
# duplicate vendor orders, tenant-minutes over 500. Sizes: MIDNIGHT_JOBS, MIDNIGHT_TENANTS, MIDNIGHT_LAYOUT,
# MIDNIGHT_LATENCY_MS, MIDNIGHT_JITTER_MS (or the command's options: manage.py bench_midnight --help).
bench-midnight: install services
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(PY) manage.py bench_midnight

# The renewal day (issue 27): 10,000 Microsoft subscriptions renewing at 00:00 UTC, 2,000 with a change at renewal,
# synced and their changes verified by 2 clusters x 2 workers on PostgreSQL with the sandbox at 100 ms a call,
# within 10 minutes and under the vendor's per-tenant limit (the sandbox ledger's per-minute counts).
bench-renewals: install services
	BENCH_POSTGRES_URL=$(BENCH_POSTGRES_URL) $(PY) manage.py bench_renewals --subscriptions 10000 --changes 2000 --latency-ms 100 --layout 2x2

bench-tree: migrate
	$(PY) manage.py bench_tree --depth 40 --width 20000

# Refresh the Spanish catalogue after changing user-facing strings (needs Debian's gettext).
messages: install
	$(PY) manage.py makemessages -l es --ignore=.venv --ignore=tests --ignore=staticfiles --no-obsolete
	$(PY) manage.py compilemessages -l es --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm sandbox.sqlite3 sandbox.sqlite3-wal sandbox.sqlite3-shm staticfiles

# Mutation testing of orders/validation.py, imports/jobs/states.py and core/outbox.py (about 8 minutes; see [tool.mutmut]).
mutants: install
	$(PY) -m pip install -q 'mutmut>=3,<4'
	rm -rf mutants && DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/mutmut run --max-children 2; $(VENV)/bin/mutmut results
