#!/bin/bash
# make install DESTDIR=...: the binary, its module, both man pages, the
# systemd unit and the example configs land where they belong, with their
# modes; the installed binary finds its module (and says where it looked
# when it is gone); with another
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
check /usr/local/lib/walship/walship-module.so 644
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

log "the installed binary loads its module when a replica needs it"
# A listing of an age-encrypted replica wraps its client in the module's
# age layer; a directory replica alone never loads the module.
cat >"$T/age.yml" <<YML
dbs:
  - path: $T/app.db
    replicas:
      - type: file
        path: $T/replica
        age:
          recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
YML
inst="$T/destdir/usr/local/bin/walship"
"$inst" generations -config "$T/age.yml" "$T/app.db" >"$T/gen.out" 2>&1 ||
	fail "generations with the module installed: $(cat "$T/gen.out")"
mv "$T/destdir/usr/local/lib/walship/walship-module.so" "$T/module.away"
if "$inst" generations -config "$T/age.yml" "$T/app.db" >"$T/gen2.out" 2>&1; then
	fail "generations of an age replica worked without the module"
fi
grep -q "cannot load walship-module.so" "$T/gen2.out" ||
	fail "no clear error without the module: $(cat "$T/gen2.out")"
sed -i '/age:/,$d' "$T/age.yml"
"$inst" generations -config "$T/age.yml" "$T/app.db" >"$T/gen3.out" 2>&1 ||
	fail "a directory replica needed the module: $(cat "$T/gen3.out")"
mv "$T/module.away" "$T/destdir/usr/local/lib/walship/walship-module.so"

log "PREFIX=/opt/walship UNITDIR=/etc/systemd/system"
make -s install DESTDIR="$T/opt" PREFIX=/opt/walship UNITDIR=/etc/systemd/system >"$T/install2.out" 2>&1 ||
	fail "make install PREFIX: $(cat "$T/install2.out")"
[ -x "$T/opt/opt/walship/bin/walship" ] || fail "binary not under PREFIX"
[ -f "$T/opt/opt/walship/lib/walship/walship-module.so" ] || fail "module not under PREFIX"
grep -qx 'ExecStart=/opt/walship/bin/walship replicate -config /etc/walship.yml' \
	"$T/opt/etc/systemd/system/walship.service" || fail "the unit does not start the binary under PREFIX"

log "a second install over the first"
make -s install DESTDIR="$T/destdir" >"$T/install3.out" 2>&1 || fail "second make install: $(cat "$T/install3.out")"
