#!/usr/bin/env bash
# Does an existing venv match what `make` was asked for? Called by the Makefile before every target that uses it.
#
#   scripts/venv_matches.sh VENV GIVEN_PYTHON GIVEN_TORCH_INDEX TORCH_INDEX_WAS_GIVEN
#
# GIVEN_PYTHON: the interpreter named on make's command line or in the environment (empty: none given);
# TORCH_INDEX_WAS_GIVEN: non-empty when TORCH_INDEX was given (possibly empty, i.e. PyPI's default build).
# A venv records both at creation in VENV/.uasbench-build. Without a venv there is nothing to compare (exit 0);
# on a mismatch it prints what differs and how to rebuild, and exits 2, so `make` never installs into, or runs
# with, a venv other than the one asked for.
set -euo pipefail
venv=$1 given_python=$2 given_index=$3 index_given=$4
[[ -x $venv/bin/python ]] || exit 0
record=$venv/.uasbench-build
minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
problems=()
rebuild=()
if [[ -n $given_python ]]; then
    wanted=$(minor "$given_python" 2>/dev/null) || { echo "make: PYTHON=$given_python does not run" >&2; exit 2; }
    have=$(minor "$venv/bin/python")
    [[ $wanted == "$have" ]] || problems+=("PYTHON=$given_python is Python $wanted, but $venv has Python $have")
    rebuild+=("PYTHON=$given_python")
fi
if [[ -n $index_given ]]; then
    if [[ -f $record ]]; then
        recorded=$(sed -n 's/^torch_index=//p' "$record")
        [[ $given_index == "$recorded" ]] ||
            problems+=("TORCH_INDEX='$given_index', but $venv was built with TORCH_INDEX='$recorded'")
    else
        problems+=("$venv records no TORCH_INDEX (made before make recorded it), so TORCH_INDEX='$given_index' cannot be checked")
    fi
    rebuild+=("TORCH_INDEX=$given_index")
fi
((${#problems[@]})) || exit 0
printf 'make: %s\n' "${problems[@]}" >&2
echo "make: it is not rebuilt on its own; rebuild it with: make clean-venv && make ${rebuild[*]} venv" >&2
exit 2
