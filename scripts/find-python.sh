#!/usr/bin/env bash
# Prints the path of a working Python interpreter of version $1 (e.g. 3.13), or prints nothing
# and exits 1 when there is none. Looks on PATH (python3.13), then in pyenv's versions
# (newest patch release first), then in /usr/local/bin and /usr/bin. A name that exists but
# does not run (a pyenv shim for a version that is not selected) does not count.
set -uo pipefail
version=${1:?usage: find-python.sh MAJOR.MINOR}
works() {
  [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
  [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ]
}
candidates=("python$version")
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for dir in $(ls -d "$root/versions/$version".* 2>/dev/null | sort -t. -k3 -n -r); do
  candidates+=("$dir/bin/python$version")
done
candidates+=("/usr/local/bin/python$version" "/usr/bin/python$version")
for candidate in "${candidates[@]}"; do
  if works "$candidate"; then
    # A name on PATH may be a shim: print the interpreter it runs.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
exit 1
