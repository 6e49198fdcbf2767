"""The run folder: one training run on disk, readable by any process at any time.

``$CNNVIZ_RUNS_DIR/<run id>/`` holds

- ``config.json``: the :class:`~cnnviz.training.TrainConfig`, a display name, the owner, when created;
- ``status.json``: ``state`` (queued, running, finished, stopped, failed, interrupted), ``message``,
  the training process's ``pid`` while it runs, and timestamps;
- ``metrics.jsonl``: one JSON object per logged step, validation pass and epoch (and the test result);
- ``checkpoint.pt``: the last resumable checkpoint (``torch.load(..., weights_only=True)`` reads it);
- ``samples.pt`` (autoencoder): fixed validation digits and their latest reconstructions;
- ``results.pt``: test-set results (confusion matrix, misclassified digits);
- ``replay/``: one small ``.npz`` per moment of the run's replay (:mod:`cnnviz.training.replay`);
- ``stop``: present while a stop is requested; ``lease.json``: the queue worker training it, renewed while it
  lives (:mod:`cnnviz.training.state`); ``train.log``: the training process's output.

Every file except the append-only metrics is replaced atomically, so a reader
(or a crash) never sees half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import torch

from cnnviz.files import atomic_torch_save, atomic_write_text
from cnnviz.training import replay
from cnnviz.training.recipe import TrainConfig, TrainingCallbacks
from cnnviz.training.state import (
    ACTIVE_STATES,
    RUN_ID,
    RUNS_DIR_ENV,
    STATES,
    RunState,
    RunStatus,
    clear_stop,
    request_stop,
    runs_dir,
    stop_requested,
    write_status,
)
from models.checkpoint import CheckpointError, read_checkpoint

# RunState and friends live in cnnviz.training.state (the torch-free part); pages and tests import them from here too.
__all__ = [
    "ACTIVE_STATES",
    "RUNS_DIR_ENV",
    "STATES",
    "Run",
    "RunRecorder",
    "RunState",
    "create_run",
    "disk_usage",
    "get_run",
    "list_runs",
    "runs_dir",
]


# Pages poll run folders every second; with hundreds of runs on disk, reading and parsing
# every file each time cost ~50 ms per poll. Parsed files are kept per (path, size,
# modification time, inode): a stat is all a poll costs while nothing changed. Every
# file here is replaced atomically (a new inode) or appended to (a new size). One entry
# per file (its latest version): a few MB for hundreds of runs.
_CACHE_ENTRIES = 4096
_parsed: dict[tuple[str, str], tuple[tuple, Any]] = {}  # (kind, path) -> (stamp, parsed value)
_parsed_lock = threading.Lock()


def _stamp(path: str) -> tuple | None:
    try:
        stat = os.stat(path)  # plain strings: pathlib's joins cost more than the stat at 200 runs a poll
    except OSError:
        return None
    return (path, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def _recall(kind: str, stamp: tuple) -> Any:
    """The value parsed from exactly this file version, or None."""
    entry = _parsed.get((kind, stamp[0]))
    return entry[1] if entry is not None and entry[0] == stamp else None


def _remember(kind: str, stamp: tuple, value: Any) -> Any:
    with _parsed_lock:
        if len(_parsed) >= _CACHE_ENTRIES:
            _parsed.clear()  # cheap and rare: rebuilt on the next reads
        _parsed[(kind, stamp[0])] = (stamp, value)
    return value


def _read_json(path: str, default: Any) -> Any:
    stamp = _stamp(path)
    if stamp is None:
        return default
    value = _recall("json", stamp)
    if value is None:
        try:
            value = _remember("json", stamp, json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return default
    return dict(value) if isinstance(value, dict) else value  # a caller may set keys; nested values are shared


def _read_tensors(path: Path) -> dict[str, Any] | None:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a missing or half-copied file just means "nothing yet"
        return None


class Run:
    """One run folder. Cheap to create: every accessor reads the disk afresh.

    Args:
        path: the run's folder.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._folder = str(self.path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    @property
    def id(self) -> str:
        return self.path.name

    # -- config ---------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """config.json: ``{"train": ..., "name": ..., "owner": ..., "created": ...}``."""
        meta = _read_json(os.path.join(self._folder, "config.json"), {})
        return meta if isinstance(meta, dict) else {}  # a hand-edited or damaged file

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.meta["train"])

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.id

    @property
    def owner(self) -> str:
        return self.meta.get("owner", "")

    def rename(self, name: str) -> None:
        """Give the run a display name (the folder keeps its id)."""
        name = " ".join(name.split())[:80]
        if not name:
            raise ValueError("a run's name cannot be empty.")
        atomic_write_text(self.path / "config.json", json.dumps({**self.meta, "name": name}, indent=2))

    # A file of its own rather than a field of config.json: the teacher marking a run and its owner renaming it
    # at the same moment must not undo each other (each is one atomic create or remove).
    @property
    def shown_to_class(self) -> bool:
        """The teacher marked this run as shown to the class (students compare theirs with it)."""
        return (self.path / "shown").exists()

    def mark_shown(self, shown: bool) -> None:
        """Mark or unmark the run as shown to the class; who may do it is for the caller (the teacher)."""
        if shown:
            atomic_write_text(self.path / "shown", f"{time.time()}\n")
        else:
            (self.path / "shown").unlink(missing_ok=True)

    def version(self) -> str:
        """A text that changes whenever the status, the metrics, the samples or the replay change on disk.

        Their sizes and modification times, from four ``stat`` calls (the replay's folder gets a new
        modification time with each frame): what a watching page compares each second instead of reading and
        drawing the run again.
        """
        parts = []
        for name in ("status.json", "metrics.jsonl", "samples.pt", replay.FOLDER):
            stamp = _stamp(os.path.join(self._folder, name))
            parts.append("-" if stamp is None else f"{stamp[1]}.{stamp[2]}")
        return "/".join(parts)

    # -- status ---------------------------------------------------------------
    @property
    def status(self) -> RunStatus:
        """status.json as written (see :func:`cnnviz.training.jobs.refresh` for the live state)."""
        return RunStatus.from_json(_read_json(os.path.join(self._folder, "status.json"), None))

    @property
    def state(self) -> RunState:
        return self.status.state

    def set_status(self, state: str, message: str = "", **extra: Any) -> None:
        """Replace status.json (atomically) with ``state``, ``message`` and ``extra`` fields."""
        write_status(self.path, state, message, **extra)

    # -- metrics --------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one record as a JSON line (``time`` added)."""
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({**record, "time": time.time()}) + "\n")

    def metrics(self, kind: str | None = None) -> list[dict[str, Any]]:
        """All complete records (a line still being written is skipped), optionally of one ``kind``.

        Parsed once per file version (a poll of an unchanged run reads nothing).
        """
        path = Path(self._folder, "metrics.jsonl")
        stamp = _stamp(str(path))
        if stamp is None:
            return []
        records = _recall("metrics", stamp)
        if records is None:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                return []
            records = []
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
            _remember("metrics", stamp, records)
        return [r for r in records if kind is None or r.get("kind") == kind]  # shared: read, do not modify

    def truncate_metrics(self, step: int) -> None:
        """Keep only records up to ``step`` (resuming from a checkpoint taken at ``step``)."""
        kept = [r for r in self.metrics() if r.get("step", 0) <= step and r.get("kind") != "test"]
        atomic_write_text(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept))

    # -- checkpoint, samples, results -----------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.path / replay.CHECKPOINT_NAME

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        atomic_torch_save(checkpoint, self.checkpoint_path)

    def load_checkpoint(self) -> dict[str, Any]:
        """The last checkpoint; :class:`CheckpointError` if there is none or it is unreadable."""
        if not self.checkpoint_path.exists():
            raise CheckpointError(f"run {self.id} has no checkpoint yet.")
        return read_checkpoint(self.checkpoint_path)

    def save_samples(self, epoch: int, samples: dict[str, torch.Tensor]) -> None:
        atomic_torch_save({"epoch": epoch, **samples}, self.path / "samples.pt")

    def samples(self) -> dict[str, Any] | None:
        """``{"epoch", "images" (8,1,28,28) uint8, "reconstructions" (8,1,28,28) float}`` or None."""
        return _read_tensors(self.path / "samples.pt")

    def save_results(self, results: dict[str, Any]) -> None:
        atomic_torch_save(results, self.path / "results.pt")

    def results(self) -> dict[str, Any] | None:
        """Test-set results written when the run finished, or None."""
        return _read_tensors(self.path / "results.pt")

    # -- stop flag ------------------------------------------------------------
    @property
    def stop_path(self) -> Path:
        return self.path / "stop"

    def request_stop(self) -> None:
        request_stop(self.path)

    def stop_requested(self) -> bool:
        return stop_requested(self.path)

    def clear_stop(self) -> None:
        clear_stop(self.path)

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def create_run(config: TrainConfig, name: str = "", owner: str = "", root: str | os.PathLike | None = None) -> Run:
    """Make a new run folder (state queued) for ``config``.

    Args:
        config: what to train.
        name: display name; default ``"<model> <time>"``.
        owner: the browser session (or "cli") that may stop it.
        root: the runs folder; default :func:`runs_dir`.
    """
    folder = Path(root or runs_dir())
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = Run(folder / f"{stamp}-{config.model}-{secrets.token_hex(3)}")
    run.path.mkdir()
    meta = {
        "train": dataclasses.asdict(config),
        "name": name or f"{config.model} {time.strftime('%H:%M:%S')}",
        "owner": owner,
        "created": time.time(),
    }
    try:
        run.set_status(RunState.QUEUED)  # before config.json: a listed run always has its status
        atomic_write_text(run.path / "config.json", json.dumps(meta, indent=2))
    except OSError:
        shutil.rmtree(run.path, ignore_errors=True)  # a full disk leaves no half-made run behind
        raise
    return run


def get_run(run_id: str, root: str | os.PathLike | None = None) -> Run:
    """The run called ``run_id``; ``KeyError`` if there is none (ids never contain a path)."""
    if not RUN_ID.match(run_id):
        raise KeyError(f"not a run id: {run_id!r}")
    run = Run(Path(root or runs_dir()) / run_id)
    if not (run.path / "config.json").exists():
        raise KeyError(f"no run {run_id!r} in {run.path.parent}")
    return run


_listings: dict[Path, tuple[int, list[Run], list[Path]]] = {}


def list_runs(root: str | os.PathLike | None = None) -> list[Run]:
    """Every run folder, oldest first.

    The listing is kept until the folder's modification time changes (a run created
    or deleted); folders still being made are looked at again on every call.
    """
    folder = Path(root or runs_dir())
    try:
        modified = folder.stat().st_mtime_ns
    except OSError:
        return []
    cached = _listings.get(folder)  # (modified, runs oldest first, folders still being made)
    if cached is None or cached[0] != modified or any((p / "config.json").exists() for p in cached[2]):
        found: list[tuple[float, str]] = []
        pending: list[Path] = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return []
        for entry in entries:
            if not entry.is_dir() or entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if (path / "config.json").exists():
                created = Run(path).meta.get("created", 0)
                found.append((created if isinstance(created, (int, float)) else 0, entry.name))
            else:
                pending.append(path)
        cached = (modified, [Run(folder / name) for _, name in sorted(found)], pending)
        _listings[folder] = cached
    return list(cached[1])  # Run objects hold only their path: sharing them is safe


def disk_usage(root: str | os.PathLike | None = None) -> int:
    """Bytes the runs folder's files take (what the disk budget counts)."""
    total = 0
    for directory, _, files in os.walk(Path(root or runs_dir())):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


class RunRecorder(TrainingCallbacks):
    """Training callbacks that write into a run folder and obey its stop flag.

    Args:
        run: the folder to write to.
        on_progress: also called with every record (e.g. the CLI's progress bar).
        time_limit_s: stop (resumably) after this many seconds of wall time; None: no limit.
    """

    def __init__(self, run: Run, on_progress=None, time_limit_s: float | None = None):
        self.run = run
        self.on_progress = on_progress
        self.deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        self.timed_out = False  # set when the time limit, not a person, stopped the run

    def on_record(self, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        if self.on_progress is not None:
            self.on_progress(record)

    def on_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.run.save_checkpoint(checkpoint)

    def on_samples(self, epoch: int, samples: dict[str, torch.Tensor]) -> None:
        self.run.save_samples(epoch, samples)

    def on_replay(self, frame: replay.ReplayFrame) -> None:
        replay.write_frame(self.run.path, frame)

    def should_stop(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        return self.run.stop_requested()
