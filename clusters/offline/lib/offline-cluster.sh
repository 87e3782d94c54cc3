# shellcheck shell=bash
# The offline kind cluster as the self-test and the latency bench bring it
# up: Docker, the inotify limits istio-cni needs, the egress guard (before
# any cluster), the node image, a fresh 1+2 node cluster (REUSE_CLUSTER=1
# keeps one that is there), CoreDNS without forwarding. Sourced after
# common.sh by scripts that define E2ECTL (the ambient-e2e command, as an
# array) and export KIND_CLUSTER_NAME; offline_cluster_up sets
# KIND_NODE_IMAGE and an EXIT trap that deletes the cluster (unless
# KEEP_CLUSTER=1) and removes the guard. timed() runs a step and records its
# time in TIMES, the scripts' timing table.

declare -a TIMES=()
timed() { # timed "label" cmd... ; returns the command's status
  local label=$1 t=$SECONDS rc=0; shift
  log "== $label"
  # Capture the status explicitly: when timed is called as `timed … || x`,
  # errexit is off inside it and the status of "$@" would otherwise be lost.
  "$@" || rc=$?
  TIMES+=("$(printf '%-40s %s' "$label" "$(fmt_dur $((SECONDS - t)))")")
  return "$rc"
}

ensure_inotify() {
  local key want have kv
  for kv in fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512; do
    key=${kv%=*} want=${kv#*=} have=$(sysctl -n "$key")
    if (( have < want )); then
      if [[ $(id -u) == 0 ]]; then
        log "raising $key from $have to $want (istio-cni crashloops with 'too many open files' below it)"
        sysctl -qw "$kv"
      else
        die "$key=$have is below $want; run: sudo sysctl -w $kv"
      fi
    fi
  done
}

build_image() { IMG=$("$AE_OFFLINE_DIR/node-image" | tail -1); [[ -n $IMG ]] || die "node-image printed no image"; }

offline_cluster_cleanup() {
  local rc=$?
  if [[ ${KEEP_CLUSTER:-0} == 1 ]]; then
    log "KEEP_CLUSTER=1: kind cluster $KIND_CLUSTER_NAME kept"
  else
    "${E2ECTL[@]}" delete-cluster >&2 || true
  fi
  "$AE_OFFLINE_DIR/egress-guard" remove >&2 || true
  exit "$rc"
}

offline_cluster_up() {
  timed "docker engine" "$AE_OFFLINE_DIR/ensure-docker"
  timed "inotify limits" ensure_inotify
  # No traffic may leave this machine: the guard goes in before any cluster.
  timed "egress guard" "$AE_OFFLINE_DIR/egress-guard" install
  "$AE_OFFLINE_DIR/egress-guard" check || die "egress guard not in place; refusing to create a cluster"
  timed "node image" build_image
  export KIND_NODE_IMAGE=$IMG
  trap offline_cluster_cleanup EXIT
  # A cluster left by an earlier run (perhaps with a dead Docker engine
  # behind it) is not trusted: start from a fresh one unless REUSE_CLUSTER=1.
  [[ ${REUSE_CLUSTER:-0} == 1 ]] || "${E2ECTL[@]}" delete-cluster >&2
  timed "kind cluster ($IMG)" "${E2ECTL[@]}" cluster-up
  timed "CoreDNS without forwarding (no query leaves)" "${E2ECTL[@]}" offline-dns
}
