"""The recording analysis pool's workers end with the Hotline process that started them, however
it ends: a parent killed outright (SIGKILL, the OOM killer) would otherwise leave them, and the
forkserver they keep alive, waiting for ever."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from recording.service import _analysis_worker


def test_a_worker_ends_when_the_process_it_works_for_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_analysis_worker,
        initargs=(parent.pid,),
    )
    try:
        worker = pool.submit(os.getpid).result(timeout=30)
        os.kill(worker, 0)  # alive while its parent is
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"worker {worker} outlived its parent {parent.pid}")
    finally:
        parent.kill()
        pool.shutdown(wait=False, cancel_futures=True)
