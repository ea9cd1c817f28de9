#!/usr/bin/env bash
# Installs the Debian packages the project builds, tests and benchmarks with.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libevent-dev libjansson-dev check
      python3 python3-dev python3-venv python3-flask python3-django node-llhttp
      nginx uwsgi uwsgi-plugin-python3 gunicorn haproxy wrk curl procps iproute2
      systemd   # systemd-analyze verifies deploy/systemd (e2e 74)
      clang libclang-rt-14-dev)  # the libFuzzer harnesses (fuzz/, tests/fuzz.sh)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Debian's nginx/haproxy packages try to start their services; we start our
# own instances on loopback, so keep the system ones from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
