#!/bin/sh
# The system packages the tests need besides Python, Java and Maven: Debian's chromium
# (the dashboard's browser tests) and fonts-noto-cjk (Chinese labels in screenshots).
# Installs the missing ones when run as root on Debian/Ubuntu; otherwise says exactly what
# to install and fails.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if command -v dpkg >/dev/null 2>&1; then
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$missing fonts-noto-cjk"
elif ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    missing="$missing fonts-noto-cjk"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages:$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    exit 0
fi
echo "missing system packages:$missing -- install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
exit 1
