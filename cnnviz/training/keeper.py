"""``python -m cnnviz.training.keeper --nice N --runs DIR -- TRAINER...``: run a trainer and keep the queue moving.

The app launches every training process under this watcher. A trainer that ends
normally starts the next queued run itself; one that is killed (``kill -9``, the
out-of-memory killer, a crash in native code) cannot, so the watcher does it
once the trainer is gone. It imports neither torch nor the rest of cnnviz while it
waits (a few MB of memory), so the out-of-memory killer picks the trainer, not it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.training.keeper", description=__doc__.splitlines()[0])
    parser.add_argument("--nice", type=int, default=10, help="absolute niceness for the trainer (inherited)")
    parser.add_argument("--runs", required=True, help="the runs folder whose queue to advance")
    parser.add_argument("trainer", nargs=argparse.REMAINDER, help="the trainer's command line, after --")
    args = parser.parse_args(argv)
    command = args.trainer[1:] if args.trainer[:1] == ["--"] else args.trainer
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    trainer = subprocess.Popen(command)
    # A SIGTERM to the watcher (the teacher ending everything) reaches the trainer, which stops cleanly.
    signal.signal(signal.SIGTERM, lambda signum, frame: trainer.send_signal(signal.SIGTERM))
    code = trainer.wait()
    if code < 0:  # killed by a signal: it could not start the next run itself
        subprocess.run([sys.executable, "-m", "cnnviz.training.jobs", "--advance", args.runs], check=False)
    return 0 if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
