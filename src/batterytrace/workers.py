"""Work on a stream of batches in worker processes: results in order, memory bounded.

Past the first batch the work goes to ``workers`` processes with a bounded window of batches
in flight, so a file of any size is processed in constant memory; a single batch, or a single
worker, is done here. Workers that cannot start (a main module they cannot re-import, such as
code piped to ``python -``) leave the same work to this process, in order, and the caller is
told why (``Pool.fell_back``). Workers end with the process that started them, however it ends
(a capture killed with SIGKILL leaves none behind): :func:`_end_with_parent`.
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _end_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when its parent ends (Linux
    ``prctl(PR_SET_PDEATHSIG)``, prctl(2)); a parent that ended before the call, so that the
    worker already has another parent, ends it here. Elsewhere it does nothing: the workers then
    end when they find their work queue closed, which a killed parent may leave open."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


@dataclass(slots=True)
class Pool(Generic[T, R]):
    """``map`` of ``fn`` over batches in ``workers`` processes (the settings' ``workers``);
    ``start`` is "spawn" (nothing inherited: safe beside database connections and threads) or
    "fork" (no re-import: quick, for plain work)."""

    fn: Callable[[T], R]
    workers: int
    start: str = "spawn"
    fell_back: str | None = None  # why the work was done in this process, not by workers

    def map(self, batches: Iterable[T], full: Callable[[T], bool]) -> Iterator[R]:
        """``fn`` of each batch, in order; workers only once the first batch is ``full``."""
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        count = self.workers
        if not full(first) or count < 2:
            yield self.fn(first)
            yield from map(self.fn, batches)
            return
        # The parent, for the kernel, is this thread: the workers are started by ``submit`` here.
        pool = ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context(self.start),
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        )
        waiting: deque[T] = deque()  # submitted, result not yet handed on (oldest first)
        futures: deque[Future[R]] = deque()
        try:
            for batch in itertools.chain((first,), batches):
                waiting.append(batch)
                futures.append(pool.submit(self.fn, batch))
                if len(waiting) > 2 * count:
                    result = futures[0].result()
                    waiting.popleft(), futures.popleft()
                    yield result
            while waiting:
                result = futures[0].result()
                waiting.popleft(), futures.popleft()
                yield result
        except BrokenProcessPool as broken:
            self.fell_back = str(broken)
            yield from map(self.fn, waiting)
            yield from map(self.fn, batches)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
