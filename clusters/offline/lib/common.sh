# shellcheck shell=bash
# Shared helpers for the offline kind tooling (sourced, not executed).

AE_CACHE="${AE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ambient-e2e}"
AE_OFFLINE_DIR="${AE_OFFLINE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
mkdir -p "$AE_CACHE"

# Everything informational goes to stderr so that stdout stays clean for the
# values a caller captures (node-image prints only the image tag on stdout).
log()  { printf '%s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

fmt_dur() { # seconds -> 1m05s / 12s
  local s=$1
  if (( s >= 60 )); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# step N TOTAL "label" function [args...]
# Runs the function, prints "[N/T] label ... done in 1m2s" (with "(cached)"
# when the function sets STEP_CACHED=1).
step() {
  local n=$1 total=$2 label=$3; shift 3
  local t0=$SECONDS
  STEP_CACHED=0
  log "[$n/$total] $label ..."
  "$@" || return
  local note=""
  (( STEP_CACHED )) && note=" (cached)"
  log "[$n/$total] $label ... done in $(fmt_dur $((SECONDS - t0)))$note"
}

# run_logged LOGFILE cmd... : run a command with output in a log file; on
# failure show the tail of the log and fail.
run_logged() {
  local logf=$1; shift
  mkdir -p "$(dirname "$logf")"
  if ! "$@" >"$logf" 2>&1; then
    log "---- last 40 lines of $logf ----"
    tail -n 40 "$logf" >&2 || true
    die "command failed: $* (full log: $logf)"
  fi
}

# Run a long command in the background with a progress line every 30 s.
run_with_progress() {
  local logf=$1 what=$2; shift 2
  mkdir -p "$(dirname "$logf")"
  local t0=$SECONDS
  "$@" >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do

    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && log "      ... $what still running ($(fmt_dur $((SECONDS - t0))) so far, log: $logf)"
  done
  if ! wait "$pid"; then
    log "---- last 40 lines of $logf ----"
    tail -n 40 "$logf" >&2 || true
    die "$what failed (full log: $logf)"
  fi
}

go_env_offline() {
  # The Go module proxy is the only source of Go code. No VCS fallbacks.
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
  export GOTOOLCHAIN=local
}
