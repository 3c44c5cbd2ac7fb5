"""The output folder of a run: checked before the work, written atomically, a manifest.

Every file goes to a temporary name in the same folder and is renamed when complete,
so a file under its final name is whole. ``manifest.json`` says what a run wrote: it is
written unfinished (``"finished": false``) when the run starts, updated after each
step, and finished last. A folder holding anything else (another run's outputs, the
user's files) is refused unless ``overwrite``; then the files the old manifest lists
are removed first, and nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from polars_factors import __version__
from polars_factors.exceptions import ConfigError
from polars_factors.pipeline._config import PipelineConfig

__all__ = ["MANIFEST", "Manifest", "atomic_write", "is_scratch", "prepare"]

MANIFEST = "manifest.json"
TOOL = "polars-factors"
#: Scratch names of an interrupted run (this module, the pipeline's sink and the
#: partition layer): ``.<name>.partial-<hex>``, ``.shuffle-``, ``.old-``, ``.<name>.tmp``.
_SCRATCH = re.compile(r"^\..+(\.(partial|shuffle|old)-[0-9a-f]{8}|\.tmp)$")


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temp)`` on a temporary path next to ``path``, then rename it to ``path``.

    The temporary file is removed when ``write`` fails or is interrupted, so ``path``
    is either the previous file or the complete new one. An error names ``path``.
    """
    temp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        write(temp)
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise OSError(exc.errno, msg) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """Return the manifest of a previous run in ``folder``; ``None``: absent or not ours."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


def _owned(folder: Path, manifest: dict[str, Any]) -> list[Path]:
    """Return the files of ``folder`` that the manifest lists (inside the folder only)."""
    root = folder.resolve()
    out = []
    for entry in manifest.get("files", []):
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        path = (folder / name).resolve()
        if path.is_relative_to(root) and path != root and path.is_file():
            out.append(folder / name)
    return out


def _listing(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _clear(folder: Path, manifest: dict[str, Any]) -> None:
    """Remove a previous run's files: those it lists, its scratch files, its manifest."""
    for path in _owned(folder, manifest):
        path.unlink(missing_ok=True)
    scratch = [p for sub in (folder, folder / "figures") for p in _listing(sub)]
    for path in scratch:
        if not _SCRATCH.match(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    figures = folder / "figures"
    if figures.is_dir() and not any(figures.iterdir()):
        figures.rmdir()
    (folder / MANIFEST).unlink(missing_ok=True)


def _examples(paths: list[Path]) -> str:
    names = sorted(p.name for p in paths)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def prepare(folder: Path, *, overwrite: bool) -> Path:
    """Check that ``folder`` can take the outputs of a run, before any work; return it.

    The folder is created when absent. It must be a writable folder and empty, unless
    ``overwrite``: then a previous run's files (those its manifest lists) are removed,
    and the other files are left where they are.

    Raises
    ------
    ConfigError
        ``folder`` is a file, cannot be created or written, or is not empty (without
        ``overwrite``). The message names the folder.
    """
    if folder.exists() and not folder.is_dir():
        msg = f"output folder {folder} is a file, not a folder; choose another --output"
        raise ConfigError(msg)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{TOOL}-probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        msg = f"output folder {folder} is not writable: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    present = list(folder.iterdir())
    if not present:
        return folder
    previous = _read_manifest(folder)
    if not overwrite:
        what = (
            "the outputs of a previous run"
            if previous is not None
            else f"files that are not from a run of {TOOL} ({_examples(present)})"
        )
        msg = (
            f"output folder {folder} is not empty: it holds {what}; pass --overwrite "
            "(overwrite=True) to replace a run's outputs, or choose another folder"
        )
        raise ConfigError(msg)
    if previous is not None:
        try:
            _clear(folder, previous)
        except OSError as exc:
            msg = f"cannot clear the previous outputs in {folder}: {exc}"
            raise ConfigError(msg) from exc
    return folder


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


@dataclasses.dataclass
class Manifest:
    """``manifest.json`` of a run: rewritten (atomically) as the run goes, finished last.

    ``cluster`` is where the per-chunk work ran (the scheduler's address, the number
    of workers; ``None``: in this process).
    """

    folder: Path
    cfg: PipelineConfig
    command: Sequence[str] | None
    started: str = dataclasses.field(default_factory=_now)
    cluster: dict[str, object] | None = None

    def write(
        self,
        *,
        files: dict[str, int | None],
        steps: list[str],
        skipped: dict[str, str],
        notes: list[str],
        weights: str | None,
        finished: bool,
        error: str | None = None,
    ) -> None:
        """Write the manifest; ``files``: path relative to the folder -> rows (or ``None``)."""
        document = {
            "tool": TOOL,
            "version": __version__,
            "finished": finished,
            "command": None if self.command is None else list(self.command),
            "started": self.started,
            "ended": _now() if finished else None,
            "config": dataclasses.asdict(self.cfg),
            "cluster": self.cluster,
            "steps": {"run": steps, "skipped": skipped},
            "weights": weights,
            "files": [{"path": name, "rows": rows} for name, rows in files.items()],
            "notes": notes,
            **({"error": error} if error is not None else {}),
        }
        text = json.dumps(document, indent=2, default=_json_default, ensure_ascii=False)
        atomic_write(self.folder / MANIFEST, lambda p: p.write_text(text + "\n", "utf-8"))


def is_scratch(name: str) -> bool:
    """Whether a file name is a scratch name of an unfinished write (tests, cleanup)."""
    return bool(_SCRATCH.match(name)) or name.startswith(f".{TOOL}-probe-")
