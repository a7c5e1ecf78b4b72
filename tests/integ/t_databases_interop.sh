#!/bin/bash
# `walship databases` prints byte-for-byte what `litestream databases` prints
# for the same config files: several dbs, url and type forms, env-expanded
# paths, relative paths.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/data" "$T/backup"

cat >"$T/several.yml" <<YML
dbs:
  - path: $T/data/app.db
    replicas:
      - type: file
        path: $T/backup/app
  - path: $T/data/users.db
    replicas:
      - name: primary
        url: file://$T/backup/users
      - type: file
        path: $T/backup/users2
  - path: $T/data/a-much-longer-database-name.sqlite3
    replicas:
      - url: s3://mybucket/app.db
      - name: second
        type: s3
        bucket: other
        path: x/y
        region: eu-west-1
YML

cat >"$T/urls.yml" <<YML
dbs:
  - path: $T/data/one.db
    replicas:
      - url: s3://bucket.localhost:9000/one
      - name: b2
        url: s3://mybkt.s3.us-west-002.backblazeb2.com/one
        access-key-id: AKIA
        secret-access-key: s3cret
      - name: dir
        url: file://$T/backup/one
YML

export WALSHIP_TEST_DIR="$T"
export TEST_DB_NAME=env.db
cat >"$T/env.yml" <<'YML'
access-key-id: ${NO_SUCH_VAR_WALSHIP}
dbs:
  - path: ${WALSHIP_TEST_DIR}/data/$TEST_DB_NAME
    replicas:
      - type: file
        path: $WALSHIP_TEST_DIR/backup/env
  - path: relative/dir/rel.db
    replicas:
      - path: $WALSHIP_TEST_DIR/backup/rel
YML

cat >"$T/empty.yml" <<YML
dbs: []
YML

cd "$T"
for cfg in several urls env empty; do
	log "databases -config $cfg.yml"
	"$LITESTREAM" databases -config "$T/$cfg.yml" >"$T/$cfg.litestream" 2>"$T/$cfg.litestream.err" ||
		fail "litestream databases failed on $cfg.yml: $(cat "$T/$cfg.litestream.err")"
	"$WALSHIP" databases -config "$T/$cfg.yml" >"$T/$cfg.walship" ||
		fail "walship databases failed on $cfg.yml"
	cat "$T/$cfg.walship"
	assert_same_output "$cfg.yml" "$T/$cfg.litestream" "$T/$cfg.walship"
done

# The env-expanded path really was expanded (not printed verbatim).
grep -q "^$T/data/env.db " "$T/env.walship" || fail "env path not expanded"
# -no-expand-env keeps the text: both tools agree there too.
"$LITESTREAM" databases -no-expand-env -config "$T/several.yml" >"$T/ne.litestream"
"$WALSHIP" databases -no-expand-env -config "$T/several.yml" >"$T/ne.walship"
assert_same_output "-no-expand-env" "$T/ne.litestream" "$T/ne.walship"
echo "databases output matches Litestream"
