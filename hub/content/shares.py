"""Work on the other CPUs: one job over many items, split in consecutive shares, one per CPU,
each but the first in a forked worker process; or one job in a forked worker, in the background.

Reading the content tree's articles is CPU-bound Python (YAML above all) that threads cannot
run at once; at 1,000 articles x 7 locales a first start spent about 2.5 s on it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def cpus() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def in_shares(
    job: Callable[[Sequence[Item]], Result], items: Sequence[Item], *, minimum: int
) -> list[Result]:
    """`job` on consecutive shares of `items`, the results in the order of the shares.

    With fewer than `minimum` items, one CPU, or no `fork` on this system, one share, here.
    Else one share per CPU: the first here, the others in forked processes at the same time
    (`job` and the items must pickle). A share whose process dies is done again here.
    """
    count = min(cpus(), len(items) // max(minimum, 1))
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [job(items)]
    size = -(-len(items) // count)
    shares = [items[start : start + size] for start in range(0, len(items), size)]
    # fork: the worker starts with the modules already imported (a spawned one would spend
    # about half a second importing them again).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(shares) - 1, mp_context=context) as pool:
        futures: list[Future[Result]] = [pool.submit(job, share) for share in shares[1:]]
        results = [job(shares[0])]
        for share, future in zip(shares[1:], futures, strict=True):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                log.warning("a worker process died; its share of %d items is done here", len(share))
                results.append(job(share))
    return results


def in_background(job: Callable[[], Result]) -> Callable[[], Result | None]:
    """Start `job` now in a forked worker process; the function returned waits for its result.

    That function returns None where this process may run on one CPU only, the system has no
    `fork`, or the worker died: the caller then does the work itself. `job` and its result
    must pickle.
    """
    if cpus() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return lambda: None
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(job)

    def result() -> Result | None:
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("a worker process died; its job is done here")
            return None
        finally:
            pool.shutdown()

    return result
