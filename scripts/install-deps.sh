#!/bin/sh
# Installs what walship's build and tests need, and nothing that is already there.
# Debian packages through apt-get (apt-get update only when something is missing),
# and the npm packages the tests run for real (s3rver, Litestream v0.3.13) into
# .deps/, which git ignores. A second run on a ready machine does nothing.
set -eu
cd "$(dirname "$0")/.."

# libexpat parses S3's XML, libseccomp builds the per-role syscall filters;
# python3 gives the test harness free ports and small HTTP fault proxies;
# zlib1g-dev inflates the compressed age test vectors (unit tests only);
# systemd (systemd-analyze) rates the unit's sandbox, groff-base checks the
# man pages, shellcheck the install script.
PKGS="build-essential pkg-config libsqlite3-dev libcurl4-openssl-dev libssl-dev
libevent-dev libnanomsg-dev libyaml-dev liblz4-dev libexpat1-dev libseccomp-dev
zlib1g-dev sqlite3 awscli python3 procps systemd groff-base shellcheck"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# One dpkg-query for all of them; a package counts only when fully installed.
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null |
	awk '$NF == "installed" { printf "%s ", $1 }')"
missing=""
for p in $PKGS; do
	case "$installed" in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "install-deps: installing Debian packages:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# npm packages, pinned: s3rver for S3 tests, Litestream v0.3.13 as the peer.
NPM_PKGS="s3rver@3.7.1 @flydotio/litestream-linux-x64@1.0.1"
if [ ! -x .deps/node_modules/@flydotio/litestream-linux-x64/litestream ] ||
	[ ! -f .deps/node_modules/s3rver/package.json ]; then
	echo "install-deps: installing npm packages: $NPM_PKGS"
	mkdir -p .deps
	npm install --silent --no-audit --no-fund --prefix .deps $NPM_PKGS
fi
