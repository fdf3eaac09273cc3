#!/usr/bin/env bash
# Idempotent self-setup shared by `make run`, `make test` and `make bench`:
# system packages (only when missing, only as root) and the Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

have_pg_server() {
  command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

apt_install() {
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z ${APT_UPDATED:-} ]]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
can_apt() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }

# `setup.sh bench` also brings the benchmark's load generator.
missing=()
have_pg_server || missing+=(postgresql postgresql-contrib)
if [[ ${1:-} == bench ]] && ! command -v wrk >/dev/null 2>&1; then
  missing+=(wrk)
fi
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx pol; then
  missing+=(tesseract-ocr tesseract-ocr-pol)
fi
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# the recipe OCR tests render a Polish recipe with a font that has its diacritics
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)

if ((${#missing[@]})); then
  if can_apt; then
    apt_install "${missing[@]}"
  elif ! have_pg_server; then
    log "PostgreSQL server binaries (pg_ctl, initdb) were not found."
    log "Install them (Debian/Ubuntu: sudo apt-get install postgresql), or set TEST_DATABASE_URL /"
    log "DATABASE_URL to a Postgres you already run (e.g. the one 'supabase start' prints)."
    exit 1
  else
    log "note: missing ${missing[*]}; install them for OCR and the Supabase CLI checks"
  fi
fi

# The test suite's judges inside Postgres: pgTAP (+ pg_prove) and plpgsql_check, which
# `supabase db lint` runs; for the server version this machine has.
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [[ -n $pg_major ]]; then
  extras=()
  [[ -f /usr/share/postgresql/$pg_major/extension/pgtap.control ]] || extras+=("postgresql-$pg_major-pgtap")
  [[ -f /usr/share/postgresql/$pg_major/extension/plpgsql_check.control ]] \
    || extras+=("postgresql-$pg_major-plpgsql-check")
  command -v pg_prove >/dev/null 2>&1 || extras+=(libtap-parser-sourcehandler-pgtap-perl)
  if ((${#extras[@]})); then
    if can_apt; then apt_install "${extras[@]}"; else log "note: missing ${extras[*]}"; fi
  fi
fi

# Node projects, pinned by their lockfiles: tools/ (the Supabase CLI, whose binary ships in
# the npm package, and postgres-meta's type generator) and examples/supabase-js/.
if command -v npm >/dev/null 2>&1; then
  for project in tools examples/supabase-js; do
    stamp=$project/node_modules/.installed-$(sha256sum "$project/package-lock.json" | cut -c1-16)
    if [[ ! -f $stamp ]]; then
      log "installing $project/ (npm ci)"
      (cd "$project" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      touch "$stamp"
    fi
  done
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  log "Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1))"
  exit 1
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f $stamp ]]; then
  [[ -x .venv/bin/python ]] || { log "creating .venv"; "$PYTHON" -m venv .venv; }
  log "installing Python dependencies into .venv"
  pip_quiet() {  # pip's notes about this machine's package mirrors are noise here
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 \
      | { grep -v -e '^WARNING: Location' -e 'editable' || true; }
    return "${PIPESTATUS[0]}"
  }
  pip_quiet --upgrade pip
  pip_quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
