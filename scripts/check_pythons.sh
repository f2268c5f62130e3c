#!/usr/bin/env bash
# Every Python that pyproject.toml advertises (its "Programming Language :: Python :: 3.X" classifiers), checked
# cheaply, so a pin that drops one fails CI (.ci/run):
#   1. the lock resolves: pip's metadata-only dry run of what `make` installs (-c requirements.lock, the package with
#      every extra) under that interpreter, and every package it plans is pinned in the lock at that version;
#   2. `import uasbench` and `python -m uasbench --help` work in a fresh venv holding only the runtime dependencies
#      that do not need torch (the light paths must not import torch, timm or open_clip).
# The interpreter is python3.X on PATH, else the newest pyenv 3.X.*; without one, step 1 runs from this Python with
# --python-version 3.X --only-binary=:all: against the lock alone, and step 2 is skipped, saying so.
#
#   scripts/check_pythons.sh            check every advertised version
#   scripts/check_pythons.sh --list     print "3.X <interpreter or ->" per advertised version and stop
# Environment: PYTHONS="3.12 3.13" checks only those; LOCK=<file> another lock (tests); FIND_INTERPRETERS=0 takes
# the no-interpreter route for every version.
set -uo pipefail
cd "$(dirname "$0")/.."
# Reads pyproject.toml and pip's reports: needs Python >= 3.11 with packaging (the project venv has both).
HOST_PYTHON=${HOST_PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || command -v python3)}
LOCK=${LOCK:-requirements.lock}
versions=${PYTHONS:-$("$HOST_PYTHON" -c '
import re, tomllib
classifiers = tomllib.load(open("pyproject.toml", "rb"))["project"]["classifiers"]
print(" ".join(m.group(1) for c in classifiers if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))))')}

[[ -n $versions ]] || { echo "check_pythons: no Python version found in pyproject.toml's classifiers" >&2; exit 1; }

interpreter() {  # $1 = 3.X: the first candidate that runs and is that version (a pyenv shim may not run)
    [[ ${FIND_INTERPRETERS:-1} == 0 ]] && return 1
    local root candidate
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for candidate in $(command -v "python$1" 2>/dev/null) \
        $(ls -d "$root"/versions/"$1".*/bin/python 2>/dev/null | sort -rV); do
        if [[ $("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) == "$1" ]]; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

if [[ ${1:-} == --list ]]; then
    for v in $versions; do echo "$v $(interpreter "$v" || echo -)"; done
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()

# Planned packages (pip's --report) against the lock: prints the ones not pinned at the planned version, and the
# runtime dependencies that need no torch (for step 2) to $2.
compare_with_lock='
import json, re, sys, tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as cn
lock = {cn(Requirement(l).name): str(Requirement(l).specifier)[2:]
        for l in open(sys.argv[3]).read().splitlines() if l.strip() and not l.startswith("#")}
planned = {cn(i["metadata"]["name"]): i["metadata"] for i in json.load(open(sys.argv[1]))["install"]}
planned.pop("uasbench", None)
# pip freeze (make lock) leaves out the installer packages, so the lock cannot pin them: shown, not failed
FREEZE_SKIPS = {"pip", "setuptools", "wheel", "distribute"}
unpinnable = [n + "==" + m["version"] for n, m in planned.items() if n in FREEZE_SKIPS and n not in lock]
bad = [n + "==" + m["version"] + " (lock: " + lock.get(n, "not pinned") + ")"
       for n, m in planned.items() if lock.get(n) != m["version"] and n not in FREEZE_SKIPS]
def needs_torch(name, seen=()):
    if name == "torch":
        return True
    deps = [cn(Requirement(r).name) for r in planned.get(name, {}).get("requires_dist", []) if "extra ==" not in r]
    return any(needs_torch(d, seen + (name,)) for d in deps if d in planned and d not in seen)
runtime = [cn(Requirement(r).name) for r in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]]
open(sys.argv[2], "w").write("\n".join(n for n in runtime if not needs_torch(n)) + "\n")
print("   " + str(len(planned)) + " packages planned" + (", unpinned (pip freeze omits them): "
      + ", ".join(unpinnable) if unpinnable else ""))
if bad:
    print("   not as locked: " + ", ".join(bad))
    sys.exit(1)
'

for v in $versions; do
    py=$(interpreter "$v")
    echo "== Python $v: ${py:-no interpreter here}"
    start=$SECONDS
    if [[ -z $py ]]; then
        if "$HOST_PYTHON" -m pip install --dry-run --quiet --ignore-installed --no-deps --python-version "$v" \
            --only-binary=:all: --target "$work/none" -r "$LOCK"; then
            echo "   lock: every pin has a wheel for $v (no interpreter: import and --help not checked)"
        else
            failed+=("$v: the lock does not resolve"); fi
        continue
    fi
    if ! "$py" -m pip install --dry-run --quiet --ignore-installed --report "$work/plan-$v.json" \
        -c "$LOCK" -e '.[test,workflow,cluster]' >"$work/pip-$v.log" 2>&1; then
        tail -n 20 "$work/pip-$v.log"
        failed+=("$v: the lock does not resolve"); continue
    fi
    if ! "$HOST_PYTHON" -c "$compare_with_lock" "$work/plan-$v.json" "$work/light-$v.txt" "$LOCK"; then
        failed+=("$v: pip plans packages the lock does not pin"); continue
    fi
    echo "   lock resolves ($((SECONDS - start)) s)"
    start=$SECONDS
    "$py" -m venv "$work/venv-$v" && "$work/venv-$v/bin/python" -m pip install --quiet -c "$LOCK" \
        -r "$work/light-$v.txt" >"$work/light-$v.log" 2>&1 || {
        tail -n 20 "$work/light-$v.log"; failed+=("$v: the torch-free dependencies do not install"); continue; }
    for check in "import uasbench" "uasbench --help"; do
        if [[ $check == import* ]]; then args=(-c "$check"); else args=(-m $check); fi
        if PYTHONPATH=$PWD "$work/venv-$v/bin/python" "${args[@]}" >"$work/out" 2>&1; then
            echo "   $check: ok"
        else  # a light path that imports torch (timm, open_clip, ...) fails here too: the venv has none of them
            tail -n 20 "$work/out"; failed+=("$v: $check fails without torch")
        fi
    done
    echo "   torch-free venv and checks ($((SECONDS - start)) s)"
done

if ((${#failed[@]})); then
    printf 'check_pythons: FAILED %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "check_pythons: every advertised Python ($versions) resolves the lock"
