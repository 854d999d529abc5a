#!/usr/bin/env bash
# Installs the Debian packages the test tiers need (Prometheus with promtool, Chromium, kcat)
# when they are missing. Java 17 and Maven are prerequisites, checked here, not installed.
set -euo pipefail
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v kcat >/dev/null || missing+=(kcat)
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "install-system-deps: $tool is required (Java 17 and Maven)" >&2; exit 1; }
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
readarray -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${pkgs[*]}; run as root or: sudo apt-get install ${pkgs[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
