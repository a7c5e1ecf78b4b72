#!/bin/bash
# make install DESTDIR=...: the binary, both man pages, the systemd unit and
# the example configs land where they belong, with their modes; with another
# PREFIX (and UNITDIR) the unit starts the binary from there. The man pages
# render without a groff warning (what `man -l` shows).
. "$(dirname "$0")/lib.sh"

cd "$ROOT"
for page in man/walship.1 man/walship.yml.5; do
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || fail "groff $page failed: $out"
	[ -z "$out" ] || fail "groff warns about $page: $out"
done

make -s install DESTDIR="$T/destdir" >"$T/install.out" 2>&1 || fail "make install: $(cat "$T/install.out")"
check() { # PATH MODE
	[ -f "$T/destdir$1" ] || fail "not installed: $1"
	assert_eq "$(stat -c %a "$T/destdir$1")" "$2" "mode of $1"
}
check /usr/local/bin/walship 755
check /usr/local/share/man/man1/walship.1 644
check /usr/local/share/man/man5/walship.yml.5 644
check /usr/local/lib/systemd/system/walship.service 644
check /usr/local/share/doc/walship/examples/production.yml 644
check /usr/local/share/doc/walship/examples/development.yml 644
check /usr/local/share/doc/walship/examples/example-app.service 644
cmp -s systemd/walship.service "$T/destdir/usr/local/lib/systemd/system/walship.service" ||
	fail "the default unit differs from systemd/walship.service"
"$T/destdir/usr/local/bin/walship" version >/dev/null || fail "the installed binary does not run"
[ -z "$(find "$T/destdir" -name '*.tmp')" ] || fail "temporary files left behind"

log "PREFIX=/opt/walship UNITDIR=/etc/systemd/system"
make -s install DESTDIR="$T/opt" PREFIX=/opt/walship UNITDIR=/etc/systemd/system >"$T/install2.out" 2>&1 ||
	fail "make install PREFIX: $(cat "$T/install2.out")"
[ -x "$T/opt/opt/walship/bin/walship" ] || fail "binary not under PREFIX"
grep -qx 'ExecStart=/opt/walship/bin/walship replicate -config /etc/walship.yml' \
	"$T/opt/etc/systemd/system/walship.service" || fail "the unit does not start the binary under PREFIX"

log "a second install over the first"
make -s install DESTDIR="$T/destdir" >"$T/install3.out" 2>&1 || fail "second make install: $(cat "$T/install3.out")"
