"""Choose the kernel set (core type) of scipy's bundled OpenBLAS before it is loaded.

fastnn's Cython kernels call BLAS through :mod:`scipy.linalg.cython_blas`, i.e. the
OpenBLAS shipped inside the scipy wheel (``scipy.libs/libscipy_openblas-*.so``, the 32-bit
integer ``scipy_openblas32`` build, ``DYNAMIC_ARCH``).  At load time that library picks a
kernel set from CPUID.  Some AVX-512 CPUs that are newer than the OpenBLAS release (e.g.
AMD Zen 5) are not recognised and fall back to the AVX2 ``Haswell`` kernels, which run
GEMM roughly 1.7-1.9x slower than the AVX-512 ``SkylakeX`` kernels on such a CPU.

OpenBLAS lets the kernel set be forced with the ``OPENBLAS_CORETYPE`` environment variable,
but it reads it only once, in the library constructor.  So the variable has to be in the
process environment *before* scipy's OpenBLAS is loaded (which happens on the first
``import scipy.linalg``/``scipy.linalg.cython_blas``; plain ``import scipy`` does not load
it).  :func:`configure` does exactly that and is called by ``fastnn/__init__.py`` as its
very first statement.

Policy (see :func:`configure`):

* ``OPENBLAS_CORETYPE`` already set (non-empty) by the user: respected, nothing changed.
* ``FASTNN_BLAS_CORETYPE=off``: opt out, nothing changed.
* ``FASTNN_BLAS_CORETYPE=<name>`` (e.g. ``SkylakeX``, ``Haswell``): ``OPENBLAS_CORETYPE`` is
  set to that name.
* ``FASTNN_BLAS_CORETYPE=auto`` (the default): on AMD x86-64 CPUs with AVX-512 F/BW/VL/DQ,
  ``OPENBLAS_CORETYPE=SkylakeX`` is set.  Intel AVX-512 CPUs are left to OpenBLAS, which
  detects them (some as newer cores than SkylakeX).

Side effects of setting ``OPENBLAS_CORETYPE`` in ``os.environ``:

* numpy ships its *own* OpenBLAS (``numpy.libs/libscipy_openblas64_-*.so``, ILP64).  If
  numpy's copy has not been loaded yet either, it picks up the same core type (this is also
  the faster choice for it).  If it was already loaded it is unaffected - that does not
  matter for fastnn, whose kernels only use scipy's copy.
* Child processes (``subprocess``, ``multiprocessing``) inherit the variable.

If scipy's OpenBLAS was already loaded when :func:`configure` runs, it is too late: the
core type that library chose is queried and, unless it is already an AVX-512 one, a
:class:`RuntimeWarning` is emitted once per process explaining how to fix it. In auto mode
the same warning follows a load in time that still picked AVX2 kernels on an AVX-512 CPU
(:func:`check_loaded_core`, called by ``fastnn._blas`` at import).

This module only imports the standard library at import time; scipy is imported lazily by
:func:`blas_info`.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import warnings
from typing import Any

__all__ = ["blas_info", "check_loaded_core", "configure", "cpu_features", "decision", "thread_info"]

#: Environment variable read by OpenBLAS (once, when the shared library is loaded).
OPENBLAS_ENV = "OPENBLAS_CORETYPE"
#: fastnn's own knob: "auto" (default), "off", or an OpenBLAS core name.
FASTNN_ENV = "FASTNN_BLAS_CORETYPE"
#: Core type forced in auto mode on AVX-512 CPUs.
AVX512_CORETYPE = "SkylakeX"
#: CPU flags (as spelled in /proc/cpuinfo) required for the SkylakeX kernels.
AVX512_FLAGS = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})
#: OpenBLAS core names (lower case) whose GEMM kernels use AVX-512.
AVX512_CORENAMES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})

_OFF_VALUES = frozenset({"off", "0", "no", "false", "none", "disable", "disabled"})
_AUTO_VALUES = frozenset({"", "auto", "default"})
_CORENAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")

# Exported symbol prefixes/suffixes of OpenBLAS' utility functions.  scipy's wheel build
# (scipy_openblas32) exports e.g. ``scipy_openblas_get_corename``; numpy's ILP64 build
# (scipy_openblas64_) exports ``scipy_openblas_get_corename64_``; a plain system OpenBLAS
# exports ``openblas_get_corename``.
_SYMBOL_PREFIXES = ("scipy_openblas_", "openblas_")
_SYMBOL_SUFFIXES = ("", "64_", "_64")

_DECISION: dict[str, Any] = {
    "configured": False,  # has configure() run in this process?
    "mode": None,  # "user" | "off" | "explicit" | "auto" | "error"
    "requested": None,  # core type we want OpenBLAS to use (None: OpenBLAS auto-detection)
    "reason": "configure() has not been called",
    "applied": False,  # did configure() write OPENBLAS_CORETYPE into os.environ?
    "in_time": None,  # was scipy's OpenBLAS still unloaded (so the request takes effect)?
    "env_before": None,  # OPENBLAS_CORETYPE before configure() ran
    "fastnn_env": None,  # FASTNN_BLAS_CORETYPE as seen by configure()
    "scipy_openblas_loaded": None,  # scipy's OpenBLAS already mapped when configure() ran
    "scipy_openblas_corename": None,  # its core name, if it was already loaded
    "numpy_openblas_loaded": None,  # numpy's own OpenBLAS already mapped (irrelevant for us)
    "numpy_openblas_corename": None,
    "warned": False,
    "notes": [],
}
_WARNED = False


# --------------------------------------------------------------------------- CPU info
def _read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except Exception:
        return ""


def cpu_features() -> set[str]:
    """CPU feature flags from ``/proc/cpuinfo`` (lower case), e.g. ``{"avx2", "avx512f"}``.

    Uses the first ``flags`` line (x86) or ``Features`` line (ARM).  Returns an empty set
    where ``/proc/cpuinfo`` is not available (non-Linux) or cannot be parsed.  Never raises.
    """
    try:
        for line in _read_cpuinfo().splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("flags", "features"):
                return {f.lower() for f in value.split()}
    except Exception:
        pass
    return set()


def _cpu_model() -> str | None:
    try:
        for line in _read_cpuinfo().splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("model name", "cpu model", "processor name"):
                return value.strip() or None
        return platform.processor() or None
    except Exception:
        return None


def _is_x86_64() -> bool:
    try:
        return platform.machine().lower() in ("x86_64", "amd64", "x64")
    except Exception:
        return False


# ------------------------------------------------------------------ loaded libraries
def _classify_openblas(path: str) -> str | None:
    """'scipy' / 'numpy' / 'other' for an OpenBLAS shared library path, else None.

    Careful: numpy's copy is *also* called ``libscipy_openblas64_-<hash>.so`` (the
    ``scipy-openblas64`` project), so a plain ``"scipy_openblas" in path`` test would
    mistake numpy's OpenBLAS for scipy's.
    """
    p = path.replace("\\", "/")
    base = p.rsplit("/", 1)[-1].lower()
    if "openblas" not in base:
        return None
    if "/numpy.libs/" in p or "/numpy/" in p or "openblas64" in base:
        return "numpy"
    if "/scipy.libs/" in p or "/scipy_openblas32/" in p or base.startswith("libscipy_openblas"):
        return "scipy"
    return "other"


def _mapped_libraries() -> list[str] | None:
    """Paths of the files mapped into this process (Linux), or None if unavailable."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except Exception:
        return None
    seen: dict[str, None] = {}
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            path = parts[5].strip()
            if path.endswith(" (deleted)"):
                continue
            seen[path] = None
    return list(seen)


def _loaded_openblas() -> dict[str, list[str]] | None:
    """Loaded OpenBLAS libraries by owner: {'scipy': [...], 'numpy': [...], 'other': [...]}.

    None when the process' mappings cannot be inspected (non-Linux).
    """
    libs = _mapped_libraries()
    if libs is None:
        return None
    out: dict[str, list[str]] = {"scipy": [], "numpy": [], "other": []}
    for path in libs:
        kind = _classify_openblas(path)
        if kind is not None:
            out[kind].append(path)
    return out


def _scipy_blas_modules_loaded() -> bool:
    mods = ("scipy.linalg.cython_blas", "scipy.linalg._fblas", "scipy.linalg.blas")
    return any(m in sys.modules for m in mods)


def _openblas_func(path: str, name: str, restype: Any):
    """ctypes function ``name`` (e.g. 'get_corename') of an *already loaded* OpenBLAS.

    Uses RTLD_NOLOAD so that a library is never loaded (and initialised) by accident.
    """
    import ctypes

    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LOCAL", 0)
    lib = ctypes.CDLL(path, mode=mode)
    for prefix in _SYMBOL_PREFIXES:
        for suffix in _SYMBOL_SUFFIXES:
            symbol = f"{prefix}{name}{suffix}"
            try:
                func = getattr(lib, symbol)
            except AttributeError:
                continue
            func.restype = restype
            func.argtypes = []
            return symbol, func
    raise AttributeError(f"no {name} symbol in {path}")


def _corename(path: str) -> str | None:
    try:
        import ctypes

        _, func = _openblas_func(path, "get_corename", ctypes.c_char_p)
        raw = func()
        return raw.decode("ascii", "replace").strip() if raw else None
    except Exception:
        return None


def scipy_openblas_path() -> str | None:
    """Path of the loaded scipy OpenBLAS (or the OpenBLAS a scipy built against a system one
    loaded), from /proc/self/maps; None when not loaded or not inspectable."""
    loaded = _loaded_openblas()
    if loaded is None:
        return None
    return (loaded["scipy"] or loaded["other"] or [None])[0]


def scipy_corename() -> str | None:
    """Core type (kernel set) of the loaded scipy OpenBLAS, e.g. "Haswell", or None."""
    path = scipy_openblas_path()
    return _corename(path) if path else None


# ----------------------------------------------------------------------- configure
def _warn_once(message: str, stacklevel: int = 5) -> None:
    global _WARNED
    if _WARNED:
        return
    _WARNED = True
    _DECISION["warned"] = True
    try:
        # 1 _warn_once, 2 _too_late, 3 _configure, 4 configure, 5 configure's caller
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)
    except Exception:
        pass


def _too_late(
    requested: str, corename: str | None, explicit: bool, fastnn_would_set: bool = True
) -> None:
    """scipy's OpenBLAS is already loaded: record and (maybe) warn. ``fastnn_would_set``: would
    importing fastnn first have set the core type (not so on Intel, left to OpenBLAS)?"""
    _DECISION["in_time"] = False
    have = corename or "unknown"
    if corename is not None and corename.lower() == requested.lower():
        _DECISION["reason"] += f"; scipy's OpenBLAS was already loaded but uses {corename}"
        return
    if not explicit and corename is not None and corename.lower() in AVX512_CORENAMES:
        _DECISION["reason"] += (
            f"; scipy's OpenBLAS was already loaded and already uses AVX-512 kernels ({have})"
        )
        return
    _DECISION["reason"] += f"; too late: scipy's OpenBLAS was already loaded with core type {have}"
    if explicit:
        msg = (
            f"fastnn: {FASTNN_ENV}={requested} has no effect because scipy's OpenBLAS was "
            f"already loaded (it uses the {have} kernels). Import fastnn before scipy.linalg "
            f"(or anything that imports it), or set {OPENBLAS_ENV}={requested} in the "
            "environment before starting Python."
        )
    elif fastnn_would_set:
        msg = (
            f"fastnn: scipy's OpenBLAS was loaded before fastnn could select its AVX-512 "
            f"kernels and is using the {have} kernels on this AVX-512 CPU; matrix "
            f"multiplications (GEMM) may run ~1.8x slower. To fix, import fastnn before "
            f"scipy.linalg (or any library that imports it), or set "
            f"{OPENBLAS_ENV}={AVX512_CORETYPE} in the environment before starting Python. "
            f"Set {FASTNN_ENV}=off to silence this warning."
        )
    else:
        msg = _below_avx512_message(have)
    _warn_once(msg)


def _below_avx512_message(corename: str) -> str:
    """The warning for AVX2 kernels on an AVX-512 CPU where fastnn was not going to set the
    core type itself (Intel, or a load that picked the wrong kernels anyway)."""
    return (
        f"fastnn: scipy's OpenBLAS is using the {corename} kernels on this AVX-512 CPU; matrix "
        f"multiplications (GEMM) may run ~1.8x slower. To fix, set "
        f"{OPENBLAS_ENV}={AVX512_CORETYPE} in the environment before starting Python, or "
        f"{FASTNN_ENV}={AVX512_CORETYPE} and import fastnn before scipy.linalg (or any "
        f"library that imports it). Set {FASTNN_ENV}=off to silence this warning."
    )


def _configure() -> str:
    d = _DECISION
    d["notes"] = []
    user = os.environ.get(OPENBLAS_ENV, "").strip()
    knob_raw = os.environ.get(FASTNN_ENV)
    knob = (knob_raw or "").strip()
    d["env_before"] = os.environ.get(OPENBLAS_ENV)
    d["fastnn_env"] = knob_raw

    loaded = _loaded_openblas()
    if loaded is None:
        scipy_loaded = _scipy_blas_modules_loaded()
        scipy_paths: list[str] = []
        d["notes"].append("/proc/self/maps unavailable; used sys.modules to detect scipy BLAS")
    else:
        scipy_paths = loaded["scipy"]
        # A scipy built against a system/conda OpenBLAS: its BLAS is an 'other' OpenBLAS.
        scipy_loaded = bool(scipy_paths) or (bool(loaded["other"]) and _scipy_blas_modules_loaded())
        if not loaded["scipy"] and loaded["other"]:
            scipy_paths = loaded["other"]
        if loaded["numpy"]:
            d["numpy_openblas_loaded"] = True
            d["numpy_openblas_corename"] = _corename(loaded["numpy"][0])
            d["notes"].append(
                "numpy's own OpenBLAS was already loaded (separate copy, not used by fastnn's "
                "kernels; OPENBLAS_CORETYPE set now does not affect it)"
            )
        else:
            d["numpy_openblas_loaded"] = False
    d["scipy_openblas_loaded"] = scipy_loaded
    corename = _corename(scipy_paths[0]) if scipy_loaded and scipy_paths else None
    d["scipy_openblas_corename"] = corename

    # 1. the user's OPENBLAS_CORETYPE always wins
    if user:
        d.update(mode="user", requested=user, reason="set by user", applied=False)
        # If scipy's OpenBLAS is already loaded we cannot tell whether the variable was
        # in the environment at load time; blas_info() reports the core actually in use.
        d["in_time"] = None if scipy_loaded else True
        if knob and knob.lower() not in _AUTO_VALUES:
            d["notes"].append(f"{FASTNN_ENV}={knob} ignored because {OPENBLAS_ENV} is set")
        return user

    # 2. opt-out
    if knob.lower() in _OFF_VALUES:
        d.update(
            mode="off",
            requested=None,
            reason=f"disabled via {FASTNN_ENV}={knob}",
            applied=False,
            in_time=None,
        )
        return ""

    # 3. explicit core name
    if knob.lower() not in _AUTO_VALUES:
        if not _CORENAME_RE.match(knob):
            d.update(
                mode="error",
                requested=None,
                reason=f"ignored invalid {FASTNN_ENV}={knob!r}",
                applied=False,
                in_time=None,
            )
            return ""
        d.update(mode="explicit", requested=knob, reason=f"explicit {FASTNN_ENV}={knob}")
        if scipy_loaded:
            d["applied"] = False
            _too_late(knob, corename, explicit=True)
        else:
            os.environ[OPENBLAS_ENV] = knob
            d["applied"] = True
            d["in_time"] = True
        return knob

    # 4. auto
    d["mode"] = "auto"
    if not _is_x86_64():
        d.update(
            requested=None,
            reason=f"auto: not x86-64 ({platform.machine()}); OpenBLAS auto-detection",
            applied=False,
            in_time=None,
        )
        return ""
    flags = cpu_features()
    missing = sorted(AVX512_FLAGS - flags)
    if missing:
        why = "CPU flags unavailable" if not flags else "CPU lacks " + "/".join(missing)
        d.update(
            requested=None,
            reason=f"auto: {why}; OpenBLAS auto-detection",
            applied=False,
            in_time=None,
        )
        return ""
    if "AuthenticAMD" not in _read_cpuinfo():
        # Intel AVX-512 parts are detected correctly, some as newer cores (SapphireRapids)
        # whose kernels forcing SkylakeX would downgrade; only AMD Zen 5 is misdetected.
        # Nothing to request - but a library already loaded with AVX2 kernels still runs
        # below this CPU, so the too-late check (and its warning) applies all the same.
        d.update(
            requested=None,
            reason="auto: AVX-512 CPU that OpenBLAS detects itself (not AMD)",
            applied=False,
            in_time=None,
        )
        if scipy_loaded:
            _too_late(AVX512_CORETYPE, corename, explicit=False, fastnn_would_set=False)
        return ""
    d.update(
        requested=AVX512_CORETYPE,
        reason=f"auto: AMD CPU with AVX-512 F/BW/VL/DQ; forcing {AVX512_CORETYPE} kernels",
    )
    if scipy_loaded:
        d["applied"] = False
        _too_late(AVX512_CORETYPE, corename, explicit=False)
    else:
        os.environ[OPENBLAS_ENV] = AVX512_CORETYPE
        d["applied"] = True
        d["in_time"] = True
    return AVX512_CORETYPE


def configure() -> str:
    """Choose OpenBLAS' core type for scipy's OpenBLAS; call before scipy.linalg is imported.

    Returns the core type requested via ``OPENBLAS_CORETYPE`` (e.g. ``"SkylakeX"``, or the
    user's own value), or ``""`` when OpenBLAS is left to auto-detect.  The decision is
    recorded in :func:`decision`.  The first call decides; later calls return the same
    result without side effects.  Never raises.

    Environment:

    ``OPENBLAS_CORETYPE``
        If already set (non-empty) it is respected as is (reason ``"set by user"``).
    ``FASTNN_BLAS_CORETYPE``
        ``auto`` (default): on AMD x86-64 CPUs with AVX-512 F/BW/VL/DQ set
        ``OPENBLAS_CORETYPE=SkylakeX`` (OpenBLAS detects Intel's itself).  ``off``: do
        nothing.  Anything else is taken as an OpenBLAS core name and put into
        ``OPENBLAS_CORETYPE``.

    Setting the variable also affects numpy's separate OpenBLAS if numpy's copy is not
    loaded yet, and is inherited by child processes.  If scipy's OpenBLAS is already
    loaded the variable would have no effect, so it is not set; on an AVX-512 CPU (of either
    vendor) a RuntimeWarning is issued once per process unless that library already runs
    AVX-512 kernels.
    """
    if _DECISION["configured"]:
        return _DECISION["requested"] or ""
    try:
        result = _configure()
    except Exception as exc:  # pragma: no cover - defensive, configure must never raise
        _DECISION.update(mode="error", reason=f"configure() failed: {exc!r}", applied=False)
        result = ""
    _DECISION["configured"] = True
    return result


def check_loaded_core(corename: str | None) -> None:
    """Once scipy's OpenBLAS is loaded: in auto mode, warn (once per process) if it runs kernels
    below an AVX-512 CPU, e.g. a CPU newer than this OpenBLAS release that fastnn does not force
    (Intel, left to OpenBLAS). The user's own choices (``OPENBLAS_CORETYPE``, an explicit or
    ``off`` ``FASTNN_BLAS_CORETYPE``) are never second-guessed. Called by fastnn._blas at
    import with the core it found; never raises."""
    try:
        if _DECISION["mode"] != "auto" or _WARNED or not corename:
            return
        if corename.lower() in AVX512_CORENAMES or not _is_x86_64():
            return
        if not AVX512_FLAGS <= cpu_features():
            return
        _DECISION["reason"] += f"; scipy's OpenBLAS runs its {corename} kernels"
        _warn_once(_below_avx512_message(corename), stacklevel=3)
    except Exception:  # pragma: no cover - a diagnostic must never break the import
        pass


def decision() -> dict[str, Any]:
    """A copy of the decision recorded by :func:`configure`."""
    out = dict(_DECISION)
    out["notes"] = list(_DECISION["notes"])
    return out


# ------------------------------------------------------------------------ reporting
def _openblas_threads(path: str) -> int | None:
    try:
        import ctypes

        _, func = _openblas_func(path, "get_num_threads", ctypes.c_int)
        return int(func())
    except Exception:
        return None


def _openblas_lib_report(path: str) -> dict[str, Any]:
    import ctypes

    rep: dict[str, Any] = {"path": path, "symbols": {}}
    for name, restype in (
        ("get_corename", ctypes.c_char_p),
        ("get_config", ctypes.c_char_p),
        ("get_num_threads", ctypes.c_int),
        ("get_parallel", ctypes.c_int),
    ):
        key = name[len("get_") :]
        try:
            symbol, func = _openblas_func(path, name, restype)
            value = func()
            if isinstance(value, bytes):
                value = value.decode("ascii", "replace").strip()
            rep[key] = value
            rep["symbols"][name] = symbol
        except Exception:
            rep[key] = None
    m = re.search(r"OpenBLAS\s+(\d+(?:\.\d+)+)", rep.get("config") or "")
    rep["version"] = m.group(1) if m else None
    return rep


def thread_info(openblas_path: str | None = None) -> dict[str, Any]:
    """Core counts and OpenBLAS thread count (of an already loaded OpenBLAS, if given)."""
    info: dict[str, Any] = {"cpu_count": os.cpu_count()}
    try:
        info["affinity"] = len(os.sched_getaffinity(0))
    except Exception:
        info["affinity"] = None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        info[var] = os.environ.get(var)
    info["openblas_num_threads"] = _openblas_threads(openblas_path) if openblas_path else None
    return info


def _threadpoolctl_openblas() -> list[dict[str, Any]]:
    try:
        import threadpoolctl  # optional dependency
    except Exception:
        return []
    try:
        return [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    except Exception:
        return []


def blas_info() -> dict[str, Any]:
    """Describe the BLAS fastnn uses: scipy's OpenBLAS, its kernels and threads.

    Imports ``scipy.linalg.cython_blas`` (loading scipy's OpenBLAS; :func:`configure` is
    run first if it has not been).  Never raises; problems are listed under ``"errors"``.
    """
    errors: list[str] = []
    if not _DECISION["configured"]:
        configure()
    info: dict[str, Any] = {
        "decision": decision(),
        "cpu_model": _cpu_model(),
        "machine": platform.machine(),
        "errors": errors,
    }
    flags = cpu_features()
    info["cpu_has_avx2"] = "avx2" in flags
    info["cpu_has_avx512f"] = "avx512f" in flags
    info["cpu_has_avx512_skx"] = AVX512_FLAGS <= flags
    info["OPENBLAS_CORETYPE"] = os.environ.get(OPENBLAS_ENV)

    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads scipy's OpenBLAS)

        info["scipy_version"] = scipy.__version__
    except Exception as exc:
        errors.append(f"importing scipy.linalg.cython_blas failed: {exc!r}")
        info["scipy_version"] = None

    # scipy's own build metadata
    try:
        import scipy

        cfg = scipy.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["scipy_build_blas"] = {
            k: blas.get(k) for k in ("name", "version", "openblas configuration")
        }
    except Exception as exc:
        info["scipy_build_blas"] = None
        errors.append(f"scipy.show_config failed: {exc!r}")

    # the loaded library: /proc/self/maps first, threadpoolctl as a fallback
    loaded = _loaded_openblas()
    scipy_path = scipy_openblas_path()
    numpy_path = (loaded["numpy"] or [None])[0] if loaded is not None else None
    tpc = _threadpoolctl_openblas()
    if scipy_path is None:
        for entry in tpc:
            fp = entry.get("filepath") or ""
            if _classify_openblas(fp) in ("scipy", "other"):
                scipy_path = fp
                break
    info["threadpoolctl"] = tpc or None

    if scipy_path is not None:
        try:
            info["scipy_openblas"] = _openblas_lib_report(scipy_path)
        except Exception as exc:
            info["scipy_openblas"] = {"path": scipy_path}
            errors.append(f"querying {scipy_path} failed: {exc!r}")
    else:
        info["scipy_openblas"] = None
        errors.append("scipy's OpenBLAS library not found among the loaded libraries")
    if numpy_path is not None:
        try:
            info["numpy_openblas"] = _openblas_lib_report(numpy_path)
        except Exception:
            info["numpy_openblas"] = {"path": numpy_path}
    else:
        info["numpy_openblas"] = None

    sc = info["scipy_openblas"] or {}
    info["corename"] = sc.get("corename")
    info["openblas_version"] = sc.get("version") or (info["scipy_build_blas"] or {}).get("version")
    requested = _DECISION.get("requested")
    info["corename_matches_request"] = (
        None
        if not requested or not info["corename"]
        else info["corename"].lower() == str(requested).lower()
    )
    info["threads"] = thread_info(scipy_path)
    return info
