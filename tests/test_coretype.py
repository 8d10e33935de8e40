"""Tests for fastnn._coretype (OpenBLAS core-type selection).

OpenBLAS reads OPENBLAS_CORETYPE once, when the shared library is loaded, so every
behavioural test runs in a fresh interpreter.  The subprocesses load ``_coretype.py`` straight
from its file (``importlib.util.spec_from_file_location``) so that ``fastnn/__init__.py``
is not needed.  No timing is measured here; the core type OpenBLAS reports is checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _coretype_file() -> Path:
    """Path of fastnn/_coretype.py: the installed package if there is one, else the source tree."""
    try:
        spec = importlib.util.find_spec("fastnn")  # does not execute fastnn/__init__.py
    except Exception:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidate = Path(loc) / "_coretype.py"
            if candidate.is_file():
                return candidate
    return SRC / "fastnn" / "_coretype.py"


CORETYPE_FILE = _coretype_file()


def _load_in_process():
    spec = importlib.util.spec_from_file_location("fastnn_coretype_under_test", CORETYPE_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


blas = _load_in_process()  # importing has no side effects (stdlib only, nothing configured)

_FLAGS = blas.cpu_features()
IS_LINUX = sys.platform.startswith("linux")
IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64")
HAS_AVX512 = IS_LINUX and IS_X86_64 and blas.AVX512_FLAGS <= _FLAGS
HAS_AVX2 = IS_LINUX and IS_X86_64 and "avx2" in _FLAGS

needs_avx512 = pytest.mark.skipif(
    not HAS_AVX512, reason="needs Linux x86-64 with AVX-512 F/BW/VL/DQ (SkylakeX kernels)"
)
needs_avx2 = pytest.mark.skipif(
    not HAS_AVX2, reason="needs Linux x86-64 with AVX2 (Haswell kernels)"
)
needs_linux = pytest.mark.skipif(not IS_LINUX, reason="uses /proc/self/maps")

PRELUDE = textwrap.dedent(
    f"""
    import importlib.util, json, os, sys, warnings
    warnings.simplefilter("always")
    _spec = importlib.util.spec_from_file_location("fastnn_coretype_under_test", {str(CORETYPE_FILE)!r})
    blas = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(blas)

    def scipy_blas_mapped():
        return [l for l in open("/proc/self/maps")
                if "openblas" in l and blas._classify_openblas(l.split()[-1]) == "scipy"]

    if os.environ.get("TEST_CPU_VENDOR"):  # this machine's /proc/cpuinfo under another vendor
        _vendor, _real_cpuinfo = os.environ["TEST_CPU_VENDOR"], blas._read_cpuinfo
        blas._read_cpuinfo = lambda: _real_cpuinfo().replace("GenuineIntel", _vendor).replace(
            "AuthenticAMD", _vendor)

    def count_runtime_warnings(fn, *args):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            result = fn(*args)
        return result, [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
    """
)


def run(code: str, **env_vars: str) -> dict:
    """Run PRELUDE + code in a fresh interpreter; code must print one JSON object last."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", blas.FASTNN_ENV)}
    env.pop("PYTHONWARNINGS", None)
    if CORETYPE_FILE.is_relative_to(SRC):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.update(env_vars)
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ in-process, pure
def test_cpu_features_is_a_set_of_lowercase_strings():
    flags = blas.cpu_features()
    assert isinstance(flags, set)
    assert all(isinstance(f, str) and f == f.lower() for f in flags)
    if IS_LINUX and IS_X86_64:
        assert "sse2" in flags


def test_cpu_features_never_raises_without_proc(monkeypatch):
    monkeypatch.setattr(blas, "_read_cpuinfo", lambda: "")
    assert blas.cpu_features() == set()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/x/site-packages/scipy.libs/libscipy_openblas-6cdc3b4a.so", "scipy"),
        ("/x/site-packages/scipy_openblas32/lib/libscipy_openblas.so", "scipy"),
        # numpy's copy is *also* named libscipy_openblas...: must not be taken for scipy's
        ("/x/site-packages/numpy.libs/libscipy_openblas64_-32a4b2a6.so", "numpy"),
        ("/x/site-packages/scipy_openblas64/lib/libscipy_openblas64_.so", "numpy"),
        ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0", "other"),
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", None),
    ],
)
def test_classify_openblas(path, kind):
    assert blas._classify_openblas(path) == kind


def test_decision_before_configure():
    d = blas.decision()
    assert d["configured"] is False
    assert d["requested"] is None


# --------------------------------------------------------------- fresh interpreters
@needs_linux
def test_import_is_stdlib_only_and_side_effect_free():
    out = run(
        """
        print(json.dumps({
            "numpy": "numpy" in sys.modules,
            "scipy": "scipy" in sys.modules,
            "env": os.environ.get("OPENBLAS_CORETYPE"),
            "mapped": bool(scipy_blas_mapped()),
        }))
        """
    )
    assert out == {"numpy": False, "scipy": False, "env": None, "mapped": False}


@needs_avx512
def test_auto_selects_skylakex_before_scipy_loads_on_amd():
    out = run(
        """
        before = bool(scipy_blas_mapped())
        ret, warned = count_runtime_warnings(blas.configure)
        again = blas.configure()
        import numpy  # numpy's own OpenBLAS: loaded after configure, picks up the env too
        import scipy.linalg
        info = blas.blas_info()
        print(json.dumps({
            "before": before, "ret": ret, "again": again, "warned": warned,
            "env": os.environ.get("OPENBLAS_CORETYPE"),
            "decision": info["decision"], "corename": info["corename"],
            "match": info["corename_matches_request"],
            "numpy_core": (info["numpy_openblas"] or {}).get("corename"),
            "symbols": (info["scipy_openblas"] or {}).get("symbols"),
        }))
        """,
        TEST_CPU_VENDOR="AuthenticAMD",
    )
    assert out["before"] is False
    assert out["ret"] == out["again"] == "SkylakeX"
    assert out["warned"] == []
    assert out["env"] == "SkylakeX"
    d = out["decision"]
    assert d["mode"] == "auto" and d["applied"] is True and d["in_time"] is True
    assert d["requested"] == "SkylakeX"
    assert out["corename"] == "SkylakeX"
    assert out["match"] is True
    assert out["numpy_core"] == "SkylakeX"
    assert out["symbols"]["get_corename"].endswith("get_corename")


@needs_avx512
def test_auto_leaves_intel_avx512_to_openblas():
    # OpenBLAS recognises Intel's AVX-512 cores itself (some as newer kernels than SkylakeX,
    # which forcing SkylakeX would downgrade): nothing is set, and the core it picks is AVX-512.
    out = run(
        """
        ret, warned = count_runtime_warnings(blas.configure)
        import scipy.linalg
        info = blas.blas_info()
        print(json.dumps({"ret": ret, "warned": warned,
                          "env": os.environ.get("OPENBLAS_CORETYPE"),
                          "decision": info["decision"], "corename": info["corename"]}))
        """,
        TEST_CPU_VENDOR="GenuineIntel",
    )
    assert out["ret"] == "" and out["env"] is None and out["warned"] == []
    d = out["decision"]
    assert d["mode"] == "auto" and d["requested"] is None and d["applied"] is False
    assert "not AMD" in d["reason"]
    if "GenuineIntel" in blas._read_cpuinfo():  # a real Intel CPU, not one pretending
        assert out["corename"].lower() in blas.AVX512_CORENAMES


@needs_avx512
@pytest.mark.parametrize("vendor", ["AuthenticAMD", "GenuineIntel"])
def test_warns_once_when_scipy_blas_was_loaded_first(vendor):
    # Simulate OpenBLAS mis-detecting the CPU: load scipy's OpenBLAS with Haswell kernels,
    # then remove the variable so that configure() runs in (too-late) auto mode. Either
    # vendor: AVX2 kernels on an AVX-512 CPU are worth the warning wherever they came from.
    out = run(
        """
        import scipy.linalg
        del os.environ["OPENBLAS_CORETYPE"]
        def three_calls():
            r = blas.configure()
            blas.configure()
            blas._DECISION["configured"] = False  # force a re-evaluation: still one warning
            blas.configure()
            return r
        ret, warned = count_runtime_warnings(three_calls)
        print(json.dumps({"ret": ret, "warned": warned, "decision": blas.decision(),
                          "env": os.environ.get("OPENBLAS_CORETYPE")}))
        """,
        OPENBLAS_CORETYPE="Haswell",
        TEST_CPU_VENDOR=vendor,
    )
    assert len(out["warned"]) == 1
    msg = out["warned"][0]
    assert "1.8x" in msg and "OPENBLAS_CORETYPE=SkylakeX" in msg
    if vendor == "AuthenticAMD":  # importing fastnn first is the fix: it would set the core
        assert "import fastnn before scipy.linalg" in msg
    else:  # on Intel fastnn leaves the core to OpenBLAS: only an explicit choice helps
        assert "FASTNN_BLAS_CORETYPE=SkylakeX and import fastnn" in msg
    d = out["decision"]
    assert d["in_time"] is False and d["applied"] is False and d["warned"] is True
    assert d["scipy_openblas_loaded"] is True
    assert d["scipy_openblas_corename"] == "Haswell"
    assert out["env"] is None  # too late to matter: not set


@needs_avx512
@pytest.mark.parametrize("vendor", ["AuthenticAMD", "GenuineIntel"])
def test_no_warning_when_loaded_scipy_blas_already_uses_avx512(vendor):
    out = run(
        """
        import scipy.linalg
        del os.environ["OPENBLAS_CORETYPE"]
        ret, warned = count_runtime_warnings(blas.configure)
        print(json.dumps({"warned": warned, "decision": blas.decision()}))
        """,
        OPENBLAS_CORETYPE="SkylakeX",
        TEST_CPU_VENDOR=vendor,
    )
    assert out["warned"] == []
    assert out["decision"]["in_time"] is False
    assert out["decision"]["scipy_openblas_corename"] == "SkylakeX"


@needs_avx512
@pytest.mark.parametrize("vendor", ["AuthenticAMD", "GenuineIntel"])
def test_warns_when_openblas_loads_non_avx512_kernels_in_auto_mode(vendor):
    # Simulate OpenBLAS misdetecting the CPU after fastnn (auto mode) was configured in time:
    # the variable OpenBLAS reads is overwritten with Haswell between configure() and the load.
    out = run(
        """
        ret = blas.configure()
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        import scipy.linalg
        core = blas.scipy_corename()
        ret2, warned = count_runtime_warnings(blas.check_loaded_core, core)
        again, warned_again = count_runtime_warnings(blas.check_loaded_core, core)
        print(json.dumps({"core": core, "warned": warned, "again": warned_again,
                          "decision": blas.decision()}))
        """,
        TEST_CPU_VENDOR=vendor,
    )
    assert out["core"] == "Haswell"
    assert len(out["warned"]) == 1 and out["again"] == []
    msg = out["warned"][0]
    assert "Haswell kernels on this AVX-512 CPU" in msg and "OPENBLAS_CORETYPE=SkylakeX" in msg
    assert out["decision"]["warned"] is True and out["decision"]["mode"] == "auto"


@pytest.mark.parametrize(
    "env",
    [{"OPENBLAS_CORETYPE": "Haswell"}, {"FASTNN_BLAS_CORETYPE": "Haswell"},
     {"FASTNN_BLAS_CORETYPE": "off", "OPENBLAS_CORETYPE": "Haswell"}],
)  # fmt: skip
def test_no_load_warning_for_the_users_own_choice(env):
    out = run(
        """
        blas.configure()
        import scipy.linalg
        _, warned = count_runtime_warnings(blas.check_loaded_core, blas.scipy_corename())
        _, also = count_runtime_warnings(blas.check_loaded_core, "Haswell")
        print(json.dumps({"warned": warned + also}))
        """,
        **env,
    )
    assert out["warned"] == []


@needs_avx512
def test_off_silences_the_too_late_warning():
    out = run(
        """
        import scipy.linalg
        del os.environ["OPENBLAS_CORETYPE"]
        ret, warned = count_runtime_warnings(blas.configure)
        print(json.dumps({"ret": ret, "warned": warned, "mode": blas.decision()["mode"]}))
        """,
        OPENBLAS_CORETYPE="Haswell",
        FASTNN_BLAS_CORETYPE="off",
    )
    assert out == {"ret": "", "warned": [], "mode": "off"}


def test_user_openblas_coretype_is_respected():
    out = run(
        """
        ret, warned = count_runtime_warnings(blas.configure)
        env = os.environ.get("OPENBLAS_CORETYPE")
        core = None
        if sys.platform.startswith("linux"):
            import scipy.linalg
            core = blas.blas_info()["corename"]
        print(json.dumps({"ret": ret, "warned": warned, "env": env, "core": core,
                          "decision": blas.decision()}))
        """,
        OPENBLAS_CORETYPE="Haswell",
        FASTNN_BLAS_CORETYPE="SkylakeX",  # the user's OPENBLAS_CORETYPE wins over this too
    )
    assert out["ret"] == "Haswell"
    assert out["env"] == "Haswell"
    assert out["warned"] == []
    d = out["decision"]
    assert d["reason"] == "set by user" and d["mode"] == "user" and d["applied"] is False
    if HAS_AVX2:
        assert out["core"] == "Haswell"


def test_off_opts_out():
    out = run(
        """
        ret, warned = count_runtime_warnings(blas.configure)
        print(json.dumps({"ret": ret, "warned": warned,
                          "env": os.environ.get("OPENBLAS_CORETYPE"),
                          "decision": blas.decision()}))
        """,
        FASTNN_BLAS_CORETYPE="off",
    )
    assert out["ret"] == ""
    assert out["env"] is None
    assert out["warned"] == []
    assert out["decision"]["mode"] == "off" and out["decision"]["applied"] is False


@needs_avx2
def test_explicit_core_name_is_applied():
    out = run(
        """
        ret = blas.configure()
        import scipy.linalg
        info = blas.blas_info()
        print(json.dumps({"ret": ret, "env": os.environ.get("OPENBLAS_CORETYPE"),
                          "core": info["corename"], "decision": info["decision"]}))
        """,
        FASTNN_BLAS_CORETYPE="Haswell",
    )
    assert out["ret"] == "Haswell" and out["env"] == "Haswell" and out["core"] == "Haswell"
    assert out["decision"]["mode"] == "explicit" and out["decision"]["in_time"] is True


def test_invalid_explicit_value_is_ignored_without_raising():
    out = run(
        """
        ret = blas.configure()
        print(json.dumps({"ret": ret, "env": os.environ.get("OPENBLAS_CORETYPE"),
                          "mode": blas.decision()["mode"]}))
        """,
        FASTNN_BLAS_CORETYPE="Sky lake; rm -rf",
    )
    assert out == {"ret": "", "env": None, "mode": "error"}


def test_auto_without_avx512_leaves_openblas_alone():
    out = run(
        """
        blas.cpu_features = lambda: {"sse2", "avx", "avx2", "fma"}
        ret = blas.configure()
        print(json.dumps({"ret": ret, "env": os.environ.get("OPENBLAS_CORETYPE"),
                          "decision": blas.decision()}))
        """
    )
    assert out["ret"] == "" and out["env"] is None
    assert out["decision"]["mode"] == "auto" and out["decision"]["requested"] is None


@needs_linux
def test_blas_info_reports_library_threads_and_cpu():
    out = run(
        """
        info = blas.blas_info()   # configures first, then imports scipy lazily
        print(json.dumps(info, default=str))
        """
    )
    assert out["decision"]["configured"] is True
    assert isinstance(out["cpu_has_avx2"], bool) and isinstance(out["cpu_has_avx512f"], bool)
    threads = out["threads"]
    assert threads["cpu_count"] >= 1
    if "openblas" not in str((out.get("scipy_build_blas") or {}).get("name", "")):
        pytest.skip("scipy is not built against OpenBLAS")
    sc = out["scipy_openblas"]
    assert sc is not None, out["errors"]
    assert "openblas" in Path(sc["path"]).name
    assert "openblas64" not in Path(sc["path"]).name  # not numpy's ILP64 copy
    assert out["corename"] and out["openblas_version"]
    assert sc["symbols"]["get_corename"].endswith("get_corename")
    assert threads["openblas_num_threads"] >= 1
