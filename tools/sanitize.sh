#!/usr/bin/env bash
# Memory-safety runs of the test suite against debug builds of the compiled kernels.
#
#   bash tools/sanitize.sh [debug|asan|all] [pytest arguments...]     (default: all)
#
# Each mode copies the working tree (without .git, build products or the C that cythonize generated)
# to a temporary directory, creates a virtual environment there (--system-site-packages, so the
# installed numpy, scipy, Cython, pytest, hypothesis, h5py, scikit-learn are reused and nothing
# is downloaded), installs the copy into it in editable mode (pip --no-build-isolation --no-deps) and runs the suite from the copy.
# The checkout and the system site-packages are never touched.
#
#   debug  FASTNN_DEBUG=1: Cython boundscheck and initializedcheck on, -O0 -g (see setup.py).
#   asan   the same, plus AddressSanitizer: CFLAGS="-fsanitize=address -fno-omit-frame-pointer",
#          LDFLAGS="-fsanitize=address"; python runs with
#          LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" and
#          ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 (CPython leaks by design; tests
#          that provoke MemoryError must get NULL, not an ASan abort). Reports go to
#          $work/asan/asan-reports/asan.<pid>; any report fails the run.
#
# Exit status: non-zero if a build fails, a test fails, or ASan reports anything.
# FASTNN_SANITIZE_KEEP=1 keeps the temporary directory (its path is printed).
set -euo pipefail

mode=${1:-all}
[ $# -gt 0 ] && shift
case "$mode" in
    debug | asan | all) ;;
    *)
        echo "usage: bash tools/sanitize.sh [debug|asan|all] [pytest arguments...]" >&2
        exit 2
        ;;
esac
pytest_args=("$@")
[ ${#pytest_args[@]} -gt 0 ] || pytest_args=(-q -p no:cacheprovider tests)

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d /tmp/fastnn-san.XXXXXX)
if [ "${FASTNN_SANITIZE_KEEP:-0}" = 1 ]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# A fresh copy of the working tree: no .git, no stale build products. The generated .c files
# must go too: cythonize would reuse it, and FASTNN_DEBUG changes the Cython directives.
copy_tree() {
    local dest=$1
    mkdir -p "$dest"
    tar -C "$root" \
        --exclude=./.git --exclude=./build --exclude=./dist --exclude='*.egg-info' \
        --exclude=.hypothesis --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.benchmarks \
        --exclude=__pycache__ --exclude='*.so' --exclude='./src/fastnn/*.c' \
        -cf - . | tar -C "$dest" -xf -
}

run_mode() {
    local name=$1
    local dir=$work/$name
    local repo=$dir/repo
    echo "=== $name: copying $root to $repo"
    copy_tree "$repo"
    # tests look for the course's data in <repo>/../shared/datasets
    if [ -d "$root/../shared" ]; then
        ln -s "$(cd "$root/../shared" && pwd)" "$dir/shared"
    fi
    # --without-pip: the venv's own seeded pip/setuptools would shadow the installed (newer)
    # setuptools the build needs; the system's pip, run by the venv's python, installs into it.
    "$python" -m venv --system-site-packages --without-pip "$dir/venv"
    local py=$dir/venv/bin/python

    local -a build_env=(FASTNN_DEBUG=1)
    local -a run_env=()
    if [ "$name" = asan ]; then
        local libasan libstdcxx
        libasan=$(gcc -print-file-name=libasan.so)
        # libstdc++ too: ASan intercepts __cxa_throw and must find the real one at start-up;
        # otherwise the first C++ exception (matplotlib's ft2font, h5py, ...) aborts the process
        # with "CHECK failed: asan_interceptors.cpp ... real___cxa_throw".
        libstdcxx=$(gcc -print-file-name=libstdc++.so)
        for lib in "$libasan" "$libstdcxx"; do
            if [ ! -e "$lib" ]; then
                echo "$lib not found (gcc -print-file-name)" >&2
                return 1
            fi
        done
        mkdir -p "$dir/asan-reports"
        build_env+=(CFLAGS="-fsanitize=address -fno-omit-frame-pointer"
            LDFLAGS="-fsanitize=address")
        run_env=(LD_PRELOAD="$libasan $libstdcxx"
            ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:log_path=$dir/asan-reports/asan")
    fi

    echo "=== $name: building (${build_env[*]})"
    (cd "$repo" && env "${build_env[@]}" "$py" -m pip install -q --no-cache-dir \
        --no-build-isolation --no-deps -e . >"$dir/build.log" 2>&1) || {
        tail -40 "$dir/build.log" >&2
        echo "=== $name: build FAILED (log above)" >&2
        return 1
    }

    # The venv must import the copy's kernels, not the checkout's.
    local so
    so=$(cd "$dir" && env ${run_env[@]+"${run_env[@]}"} "$py" -c 'import fastnn._kernels as k; print(k.__file__)')
    case "$so" in
        "$repo"/*) ;;
        *)
            echo "=== $name: imports $so, not the copy under $repo" >&2
            return 1
            ;;
    esac
    grep -q "Out of bounds on buffer access" "$repo/src/fastnn/_kernels.c" || {
        echo "=== $name: _kernels.c was generated without boundscheck" >&2
        return 1
    }
    local flags
    flags=$(cd "$dir" && env ${run_env[@]+"${run_env[@]}"} "$py" -c 'from fastnn.cli import compile_info; print(compile_info()["flags"])')
    echo "=== $name: kernels $so"
    echo "=== $name: compile flags: $flags"
    case " $flags " in *" -O0 "*) ;; *)
        echo "=== $name: not an -O0 build" >&2
        return 1
        ;;
    esac
    # (nm's output read whole first: with pipefail, grep -q closing the pipe early would fail it)
    if [ "$name" = asan ] && ! grep -q __asan_ <<<"$(nm -D --undefined-only "$so")"; then
        echo "=== $name: $so is not instrumented by AddressSanitizer" >&2
        return 1
    fi

    echo "=== $name: python -m pytest ${pytest_args[*]}"
    local status=0
    (cd "$repo" && env ${run_env[@]+"${run_env[@]}"} "$py" -m pytest "${pytest_args[@]}") || status=$?
    if [ "$name" = asan ]; then
        local reports
        reports=$(find "$dir/asan-reports" -type f | wc -l)
        if [ "$reports" -gt 0 ]; then
            echo "=== asan: $reports AddressSanitizer report(s):" >&2
            cat "$dir"/asan-reports/* >&2
            status=1
        else
            echo "=== asan: no AddressSanitizer reports"
        fi
    fi
    echo "=== $name: exit status $status"
    return "$status"
}

overall=0
if [ "$mode" = debug ] || [ "$mode" = all ]; then
    run_mode debug || overall=1
fi
if [ "$mode" = asan ] || [ "$mode" = all ]; then
    run_mode asan || overall=1
fi
exit "$overall"
