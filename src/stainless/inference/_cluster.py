"""Block tasks on a dask cluster that may lose workers: every task carries its job (so the
scheduler can rerun it anywhere, unlike data scattered to workers that then leave), lost
workers are reported, and a cluster that cannot finish becomes one :class:`ClusterFailure`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

POLL_S = 2.0
"""How often the workers are looked at while tasks run."""


class ClusterFailure(OSError):
    """The dask cluster could not finish a blockwise run (its workers left or kept dying)."""


def _workers(client: Any) -> set[str]:
    try:
        return set(client.scheduler_info(n_workers=-1)["workers"])
    except TypeError:  # distributed before n_workers=
        return set(client.scheduler_info()["workers"])


def _completed(
    client: Any, futures: list[Any], description: str, no_worker_timeout_s: float
) -> Iterator[Any]:
    """Yield each future as it completes; warn once per worker that leaves; raise
    :class:`ClusterFailure` when no worker has been there for ``no_worker_timeout_s``."""
    from distributed import wait
    from distributed.scheduler import KilledWorker

    pending = set(futures)
    seen = _workers(client)
    alone_since: float | None = None
    looked = time.monotonic()
    while pending:
        try:
            done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except CancelledError as cancelled:  # the scheduler forgot the tasks (it restarted...)
            raise ClusterFailure(
                f"the dask scheduler dropped the tasks while {description} "
                f"({type(cancelled).__name__})"
            ) from None
        for future in done:
            if future.status == "error":
                failure = future.exception()
                if isinstance(failure, KilledWorker):
                    raise ClusterFailure(
                        f"dask workers kept dying while {description} ({failure}); the cluster "
                        "could not finish"
                    ) from None
                raise failure  # the task's own error (a full disk...), as the task raised it
            if future.status == "cancelled":
                raise ClusterFailure(f"the dask cluster cancelled the tasks while {description}")
            yield future
        if time.monotonic() - looked < POLL_S:
            continue  # the scheduler is asked at most once per POLL_S
        looked = time.monotonic()
        now = _workers(client)
        for address in sorted(seen - now):
            print(f"warning: dask worker {address} left while {description}; its blocks are "
                  "computed again on the others", file=sys.stderr)  # fmt: skip
        seen = now
        if now:
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > no_worker_timeout_s:
            raise ClusterFailure(
                f"the dask cluster has had no workers for {no_worker_timeout_s:g} s while "
                f"{description} ({len(pending)} task(s) left); start workers or give "
                "--worker-timeout more time"
            )


def run_on_cluster(
    client: Any,
    function: Callable[..., Any],
    job: Any,
    arguments: Sequence[tuple[Any, ...]],
    description: str,
    track: Callable[[Iterable[Any], str, int], Iterable[Any]],
    no_worker_timeout_s: float = 60.0,
) -> list[Any]:
    """``function(job, *a)`` for every ``a`` on the cluster, results in the order of
    ``arguments``; a task's own error is raised as it is.

    Raises
    ------
    ClusterFailure
        Workers kept dying on a task, or none was left for ``no_worker_timeout_s``.
    """
    futures = [client.submit(function, job, *a, pure=False) for a in arguments]
    try:
        for _ in track(_completed(client, futures, description, no_worker_timeout_s),
                       description, len(futures)):  # fmt: skip
            pass
        return list(client.gather(futures))
    finally:
        client.cancel(futures)
