# shellcheck shell=bash
# Copying programs out of the cached Debian rootfs (sourced, not executed).
# Used by node-image (kube-proxy, kube-router images) and istio-build
# (install-cni image). All functions read the rootfs from $ROOTFS and need
# root (they run the rootfs' own loader and readlink through chroot).

# copy_from_rootfs DEST PATH... : copy files (and the libraries they need, as
# the rootfs' own loader resolves them) into DEST under their canonical paths
# (merged /usr), following symlinks.
copy_one() { # DEST PATH(absolute, inside rootfs)
  local dest=$1 p=$2 dir path
  dir=$(chroot "$ROOTFS" readlink -f "$(dirname "$p")")
  path="${dir%/}/$(basename "$p")"
  [[ -e $ROOTFS$path || -L $ROOTFS$path ]] || die "missing in rootfs: $p"
  [[ -e $dest$path || -L $dest$path ]] && return 0
  (cd "$ROOTFS" && cp -a --parents ".$path" "$dest/")
  if [[ -L $ROOTFS$path ]]; then
    copy_one "$dest" "$(chroot "$ROOTFS" readlink -f "$path")"
  fi
}
copy_from_rootfs() {
  local dest=$1; shift
  local p l
  for p in "$@"; do
    copy_one "$dest" "$p"
    if [[ -f $ROOTFS$p ]] && file_is_elf "$ROOTFS$(chroot "$ROOTFS" readlink -f "$p")"; then
      for l in $(chroot "$ROOTFS" ldd "$p" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}'); do
        copy_one "$dest" "$l"
      done
    fi
  done
}
file_is_elf() { [[ $(head -c4 "$1" | od -An -c | tr -d ' ') == '177ELF' ]]; }

# netfilter_tree DEST PATH... : a fresh tree in DEST with the rootfs'
# merged-/usr links, PATHs (with their libraries), iptables' extension modules,
# the iptables/ip6tables names (nft backend, Debian's default, plus the
# -legacy names) and empty run, var/run, tmp (1777) and etc directories.
# PATHs must include the xtables-*-multi binaries the names link to.
netfilter_tree() {
  local d=$1; shift
  rm -rf "$d"; mkdir -p "$d"
  # merged-/usr layout links
  local l; for l in bin sbin lib lib64; do [[ -L $ROOTFS/$l ]] && cp -a "$ROOTFS/$l" "$d/"; done
  local xt=/usr/lib/x86_64-linux-gnu/xtables
  copy_from_rootfs "$d" "$@"
  # iptables' extension modules (dlopen'ed, with their own libraries)
  local so; for so in "$ROOTFS$xt"/*.so; do copy_from_rootfs "$d" "${so#"$ROOTFS"}"; done
  # iptables -> nft backend (Debian's default, as in the node itself)
  local n
  for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore \
           iptables-nft iptables-nft-save iptables-nft-restore ip6tables-nft ip6tables-nft-save ip6tables-nft-restore; do
    ln -sf xtables-nft-multi "$d/usr/sbin/$n"
  done
  for n in iptables-legacy iptables-legacy-save iptables-legacy-restore ip6tables-legacy ip6tables-legacy-save ip6tables-legacy-restore; do
    ln -sf xtables-legacy-multi "$d/usr/sbin/$n"
  done
  mkdir -p "$d/run" "$d/var/run" "$d/tmp" "$d/etc"; chmod 1777 "$d/tmp"
}

# netutils: iptables (nft + legacy), nft, conntrack, ipset and their libraries,
# for the kube-proxy and kube-router images.
make_netutils() {
  netfilter_tree "$1" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft \
    /usr/sbin/conntrack /usr/sbin/ipset /usr/lib64/ld-linux-x86-64.so.2 \
    /etc/protocols /etc/services /etc/ethertypes
}
