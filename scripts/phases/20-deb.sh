#!/usr/bin/env bash
# make deb, then the packages as a site administrator meets them: lintian
# reports no errors; `dpkg -i` on a clean Debian 12 root (debootstrap from
# Debian's archive; the root and the VM's kernel are cached in
# ~/.cache/virtcloud/deb-test, so later runs, fresh clones included, skip
# that); the shipped configuration is a conffile, 0640 root:virtcloud, and
# passes `leasesrv check-config` once a site is filled in; that root boots in a VM
# with systemd as init, where leasesrv.service runs as virtcloud and answers
# /healthz (Redis from Debian beside it); `dpkg -r` leaves the configuration.
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh debootstrap=debootstrap lintian=lintian cpio=cpio qemu-system-x86_64=qemu-system-x86 || exit 1
cache=${XDG_CACHE_HOME:-$HOME/.cache}/virtcloud/deb-test
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # check NAME COMMAND...: one counted step, its output shown on failure
  if "${@:2}" >"$tmp/out" 2>&1; then
    pass=$((pass+1)); echo "ok   $1"
  else
    fail=$((fail+1)); echo "FAIL $1"; sed 's/^/     /' "$tmp/out" | tail -n 40
  fi
}
finish() { echo "deb: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

echo "--- make deb"
rm -f build/deb/*.deb
make -s deb >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail=1; finish; }
debs=(build/deb/virtcloud-*.deb)
check "go vet packaging/ (its own module)" sh -c 'cd packaging && go vet ./...'
check "make deb built 3 packages" test ${#debs[@]} -eq 3
check "lintian reports no errors" lintian --fail-on error --tag-display-limit 0 "${debs[@]}"

# The host's own Debian mirror, from its apt sources.
mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; } | grep -v security | head -1
}
tarball=$cache/bookworm-root.tar
if [ ! -s "$tarball" ]; then
  echo "--- debootstrap bookworm (once; cached in $tarball)"
  mkdir "$tmp/boot"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,adduser,redis-server \
    bookworm "$tmp/boot" "$(mirror)" >"$tmp/out" 2>&1 || { tail -n 20 "$tmp/out"; fail=1; finish; }
  rm -rf "$tmp/boot/var/cache/apt/archives/"*.deb "$tmp/boot/var/lib/apt/lists/"*_Packages
  tar -C "$tmp/boot" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$tmp/boot"
fi
root=$tmp/root
mkdir "$root" && tar -C "$root" -xf "$tarball" || { fail=1; finish; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
conf=/etc/virtcloud/virtcloud.toml

echo "--- dpkg -i on a clean Debian 12 root"
cp "${debs[@]}" "$root/tmp/"
check "dpkg -i virtcloud-server virtcloud-node virtcloud-cli" in_root sh -c 'dpkg -i /tmp/virtcloud-*.deb'
check "the virtcloud system user exists" in_root getent passwd virtcloud
check "$conf is 0640 root:virtcloud" test "$(in_root stat -c '%a %U:%G' "$conf" 2>&1)" = "640 root:virtcloud"
check "$conf is a conffile" grep -qx "$conf" "$root/var/lib/dpkg/info/virtcloud-server.conffiles"
check "the shipped $conf sets no secret" sh -c "! grep -E '^[^#]*(secret|password|community)' '$root$conf'"
check "leasesrv check-config refuses the shipped file (no site yet)" sh -c "! chroot '$root' leasesrv check-config $conf"
printf '\n[sites.brno]\nvlans = ["100-199"]\n' >>"$root$conf"
check "leasesrv check-config passes once a site is filled in" in_root leasesrv check-config "$conf"
check "leasesrv.service and vc-periodic.timer are enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/leasesrv.service" -a -L "$root/etc/systemd/system/timers.target.wants/vc-periodic.timer"
check "vcctl, its man page and completion are installed" test -x "$root/usr/bin/vcctl" -a -s "$root/usr/share/man/man8/vcctl.8.gz" -a -s "$root/usr/share/bash-completion/completions/vcctl"
# A cluster job's prologue reaches vc-hook: its own message about the missing
# configuration, not the gate's "cannot run the hook". A node has /proc
# mounted (the gate reads its arguments there): mounted for the check in a
# mount namespace of its own, which takes it away when the check ends.
check "the node package's vc-prologue hands a cluster job to its vc-hook" sh -c "unshare -m --propagation private sh -c 'mount -t proc proc \"$root/proc\" && chroot \"$root\" /usr/bin/env -i PATH=/usr/bin:/bin VIRTCLOUD_CONFIG=/nonexistent.toml /usr/sbin/vc-prologue 1.srv alice users job nodes=1,other=vcluster batch \"\"' 2>&1 | grep -q 'read config: open /nonexistent.toml'"
# Without /proc the gate says so, and fails the prologue as a fault of the
# host (Torque: exit 2, the job is requeued).
check "without /proc, vc-prologue names what it misses" sh -c "out=\$(chroot '$root' /usr/bin/env -i PATH=/usr/bin:/bin /usr/sbin/vc-prologue 1.srv alice users job nodes=1 batch '' 2>&1); test \$? = 2 && echo \"\$out\" | grep -q 'vc-prologue: cannot read its arguments: open /proc/self/cmdline'"

echo "--- boot the root with systemd as init"
cat >"$root/usr/local/sbin/vctest" <<'SH'
#!/bin/bash
# Waits for leasesrv.service and its /healthz, reports on ttyS1, powers off.
report() { echo "VCTEST $*" >/dev/ttyS1; systemctl --no-block poweroff; exit 0; }
for _ in $(seq 60); do
  if systemctl -q is-active leasesrv.service && exec 3<>/dev/tcp/127.0.0.1/7480; then
    printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    body=$(cat <&3); exec 3>&-
    user=$(stat -c %U "/proc/$(systemctl show -p MainPID --value leasesrv.service)")
    report "pid1=$(cat /proc/1/comm) user=$user healthz=$(tr -d '\r\n' <<<"${body%%$'\r'*}") body=${body##*$'\n'}"
  fi
  sleep 1
done
report "pid1=$(cat /proc/1/comm) timeout: leasesrv $(systemctl is-active leasesrv.service) ($(systemctl show -p Result -p ExecMainCode -p ExecMainStatus leasesrv.service | tr '\n' ' ')), redis-server $(systemctl is-active redis-server.service); leasesrv said: $(journalctl -u leasesrv.service -o cat -n 30 --no-pager | grep -v 'leasesrv.service' | tail -n 4 | tr '\n' ' ')"
SH
chmod 755 "$root/usr/local/sbin/vctest"
cat >"$root/etc/systemd/system/vctest.service" <<'UNIT'
[Unit]
Description=deb phase: report leasesrv.service and /healthz
After=leasesrv.service redis-server.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vctest
[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/vctest.service "$root/etc/systemd/system/multi-user.target.wants/vctest.service"
echo vctest >"$root/etc/hostname"
kdir=$cache/kernel
if [ ! -e "$kdir/.ok" ]; then
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1=="Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
  [ -n "$kpkg" ] || { apt-get update -q >/dev/null 2>&1; kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '$1=="Depends:" && $2 ~ /^linux-image-/ {print $2; exit}'); }
  rm -rf "$kdir"; mkdir -p "$kdir/dl"
  (cd "$kdir/dl" && apt-get download -q "$kpkg" >/dev/null 2>&1) && dpkg-deb -x "$kdir"/dl/*.deb "$kdir" && rm -rf "$kdir/dl" && touch "$kdir/.ok"
fi
kernel=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -1)
(cd "$root" && find . -mindepth 1 | cpio -o -H newc --quiet >"$tmp/root.cpio") || fail=$((fail+1))
: >"$tmp/result"
t0=$SECONDS
timeout 180 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$kernel" -initrd "$tmp/root.cpio" \
  -append "console=ttyS0 rdinit=/sbin/init panic=-1 systemd.show_status=false" \
  -serial "file:$tmp/console.log" -serial "file:$tmp/result" </dev/null >/dev/null 2>&1
echo "booted and powered off in $((SECONDS-t0))s: $(tr -d '\r' <"$tmp/result")"
result=$(tr -d '\r' <"$tmp/result")
check "systemd is PID 1" grep -q 'pid1=systemd' <<<"$result"
check "leasesrv.service runs as virtcloud" grep -q 'user=virtcloud' <<<"$result"
check "leasesrv answers /healthz: 200 ok" grep -q 'healthz=HTTP/1.0 200 OK.*"status":"ok"' <<<"$result"
[ "$fail" -eq 0 ] || tail -n 30 "$tmp/console.log" | tr -d '\r'
rm -f "$tmp/root.cpio"

echo "--- dpkg -r"
check "dpkg -r virtcloud-server virtcloud-node virtcloud-cli" in_root dpkg -r virtcloud-server virtcloud-node virtcloud-cli
check "dpkg -r leaves $conf, as the administrator left it" grep -q '^\[sites.brno\]' "$root$conf"
check "dpkg -r removes the binaries" test ! -e "$root/usr/bin/leasesrv" -a ! -e "$root/usr/sbin/vc-prologue" -a ! -e "$root/usr/bin/vcctl"
finish
