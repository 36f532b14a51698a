#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked throwaway gnome-keyring, so
# keytar talks to a real Secret Service and nothing touches the user's own keychain.
set -euo pipefail
scratch=$(mktemp -d /tmp/lifeboat-testenv.XXXXXX)
chmod 700 "$scratch"
mkdir -p "$scratch/home" "$scratch/runtime" "$scratch/config" "$scratch/cache"
chmod 700 "$scratch/runtime"
trap 'rm -rf "$scratch"' EXIT
export XDG_RUNTIME_DIR="$scratch/runtime" XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache"
export RESTIC_CACHE_DIR="$scratch/cache/restic"
export LIFEBOAT_TEST_KEYRING_HOME="$scratch/home"
# shellcheck disable=SC2016
exec dbus-run-session -- bash -c '
  echo -n lifeboat-test | HOME="$LIFEBOAT_TEST_KEYRING_HOME" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"
' lifeboat-test-env "$@"
