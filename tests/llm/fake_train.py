"""A stand-in for ``python -m responserank.llm.train`` in the sweep tests: same run identity, same record store.

``python fake_train.py experiment=<preset> experiment.fraction=<f> seed=<s> [...] hydra.run.dir=<folder>`` composes
the trainer's config exactly like the trainer, appends its arguments to ``<folder>/attempts.txt`` and writes a
``finished`` run record there. Environment switches:

* ``FAKE_TRAIN_FAIL=1``: write a ``failed`` record and exit with status 1;
* ``FAKE_TRAIN_HANG_FIRST=1``: on the first attempt write ``running``, write the launching task's pid to ``<folder>/started``
  and wait for SIGTERM, then write ``stopped`` and exit 143 (a pre-empted trainer); later attempts finish.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from responserank.llm.analysis.run_store import RunRecord, write_run_record
from responserank.llm.config import compose_config, to_container
from responserank.llm.identity import run_identity


def main(args: list[str]) -> int:
    import os

    run_dir = Path(next(a.split("=", 1)[1] for a in args if a.startswith("hydra.run.dir=")).strip("'"))
    config = to_container(compose_config([a for a in args if not a.startswith(("hydra.", "runs_dir="))]))
    identity = run_identity(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "attempts.txt", "a", encoding="utf-8") as log:
        log.write(" ".join(args) + "\n")
    attempts = len((run_dir / "attempts.txt").read_text().splitlines())

    def record(state: str) -> None:
        write_run_record(
            run_dir,
            RunRecord(
                run_name=identity.run_name,
                egid=identity.egid,
                experiment=config["experiment"]["name"],
                seed=config["seed"],
                fraction=config["experiment"]["fraction"],
                run_state=state,
                metrics={"eval_accuracy": 0.5},
            ),
        )

    if os.environ.get("FAKE_TRAIN_FAIL") == "1":
        record("failed")
        return 1
    if os.environ.get("FAKE_TRAIN_HANG_FIRST") == "1" and attempts == 1:
        record("running")
        stopped = []
        signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
        (run_dir / "started").write_text(str(os.getppid()))  # the pid of the task that launched it
        while not stopped:
            time.sleep(0.05)
        record("stopped")
        return 143
    record("finished")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
