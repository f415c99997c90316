"""Running independent jobs: one interface, with local threads, a local process pool or a Dask
cluster behind it. Simulation (ngspice chunks), calibration (probe circuits) and the design
search (trials) all fan out through it.

``executor.map(fn, items)`` calls ``fn(item)`` once per item and yields one :class:`Outcome`
per item as it finishes: the item's index in ``items`` and the value, or the exception the job
raised. Callers key what they keep by that index (or by the item's own content hash), never by
the order of arrival, so the same items give the same results on 1 core, 16 or a cluster.

- ``stop_on_error``: the first failure cancels the jobs not started and calls ``on_stop`` (to
  kill what the running ones started, e.g. their ngspice processes); its Outcome is the last one
  yielded. Otherwise a failure is one Outcome and the other jobs go on.
- Stopping early (the caller stops iterating, Ctrl-C, SIGTERM) cancels what has not started and
  kills the local worker processes still running; what finished has been yielded already.
- ``retries``: a job whose worker died under it (killed for memory, a lost Dask worker) is run
  again, up to this many times; an exception the job raises itself is its result, not retried.
- Time-outs: each job bounds its own wall time (an ngspice run kills its process after its
  time-out and raises), so a hung simulator ends as that job's failure.
- ``progress(k)`` is called with the number of jobs each time outcomes arrive.

Progress without a terminal (nohup, CI): :class:`ProgressLines` turns such counts (or a long
command's own log lines) into plain lines, at least one every :data:`PROGRESS_INTERVAL_S` while
the work goes on; the command line shows a progress bar on a terminal instead.

The Dask backend connects to ``tcp://HOST:PORT`` (``dask scheduler`` and ``dask worker``), or
starts a LocalCluster for :data:`LOCAL_DASK` whose scratch folder is removed when it closes. It
waits a bounded time for at least one worker and says so when there is none; a scheduler lost
mid-run is one :class:`ExecutorError` naming the fix (finished work has been yielded).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor as _FuturesExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from codesign.choices import Choice
from codesign.errors import CodesignError, InputError

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int], None]

LOCAL_DASK = "local-dask"
"""The scheduler name of a Dask LocalCluster started (and closed) by the executor."""
CONNECT_TIMEOUT_S = 30.0
"""How long to wait for a Dask scheduler to answer [s]."""
WORKER_WAIT_S = 30.0
"""How long to wait for a Dask scheduler to have at least one worker [s]."""
DEFAULT_RETRIES = 1
"""Runs again of a job whose worker died under it."""
MAX_TIMEOUT_S = 7 * 24 * 3600.0
"""Longest time-out accepted for one job [s] (one week; the operating system's waits overflow
far above)."""
PROGRESS_INTERVAL_S = 20.0
"""Longest quiet time of :class:`ProgressLines` while work goes on [s]."""


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with its noun in the right number: "1 worker", "2 workers"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


class ProgressLines:
    """Progress as plain lines for a log without a terminal (nohup, CI).

    ``update(k)`` counts ``k`` more finished units of ``total`` (None: uncounted work, whose
    lines only say that it goes on); ``note(line)`` writes one of the work's own log lines. A
    background thread writes a status line whenever ``interval_s`` [s] (default
    :data:`PROGRESS_INTERVAL_S`) passed without a line, e.g. "training on digits: 12/60 epochs
    (20 %), 21 s"; leaving the ``with`` block normally writes the last count. ``write`` takes
    one line and must flush it (click.echo does)."""

    def __init__(self, label: str, total: int | None, write: Callable[[str], None],
                 unit: str = "", interval_s: float | None = None) -> None:
        self.label, self.total, self.unit, self.write = label, total, unit, write
        self.interval_s = PROGRESS_INTERVAL_S if interval_s is None else float(interval_s)
        if not self.interval_s > 0:
            raise InputError(f"the progress interval must be > 0 s, got {interval_s!r}")
        self.done = 0
        self.start = self.last = self.last_note = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="codesign-progress",
                                        daemon=True)

    def update(self, k: int = 1) -> None:
        with self._lock:
            self.done += k

    def note(self, line: str) -> None:
        with self._lock:
            self._emit(line)
            self.last_note = self.last

    def status(self) -> str:
        """The status line of now."""
        elapsed = time.monotonic() - self.start
        if self.total is None:
            return (f"{self.label}: still running, {elapsed:.0f} s in, the last line "
                    f"{time.monotonic() - self.last_note:.0f} s ago")
        share = f" ({100 * self.done / self.total:.0f} %)" if self.total else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label}: {self.done}/{self.total}{unit}{share}, {elapsed:.0f} s"

    def _emit(self, line: str) -> None:
        self.write(line)
        self.last = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(max(0.0, self.last + self.interval_s - time.monotonic())):
            with self._lock:
                if time.monotonic() - self.last >= self.interval_s:
                    self._emit(self.status())

    def __enter__(self) -> ProgressLines:
        self._thread.start()
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None and self.total is not None:
            with self._lock:
                self._emit(self.status())


class ExecutorError(CodesignError):
    """The machinery that runs the jobs failed (a lost scheduler, workers that keep dying)."""


class Pool(Choice):
    """The kind of local pool."""

    THREADS = "threads"
    """Threads of this process: for jobs that wait on child processes (ngspice)."""
    FORK = "fork"
    """Forked processes (no importable __main__ needed): for jobs that never run torch."""
    SPAWN = "spawn"
    """Spawned processes: for jobs that run torch (a fork of a process that ran it can
    deadlock)."""


@dataclass(frozen=True, eq=False)
class Outcome(Generic[T, R]):
    """What one job gave: its index among the items, the item, and its value or exception."""

    index: int
    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    """Runs ``fn`` over items somewhere (see the module docstring)."""

    workers: int
    label: str

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, stop_on_error: bool = False,
            on_stop: Callable[[], None] | None = None,
            progress: Progress | None = None) -> Iterator[Outcome[T, R]]: ...

    def close(self) -> None: ...


def check_workers(workers: object, what: str = "workers") -> int | None:
    """``workers`` if it is None or a whole number >= 1; InputError otherwise."""
    if workers is None:
        return None
    if type(workers) is not int or workers < 1:
        raise InputError(f"{what} must be a whole number >= 1 (or None: all cores), got "
                         f"{workers!r}")
    return workers


def cpu_count() -> int:
    return os.cpu_count() or 1


def die_with_parent() -> None:
    """In a child process (a pool worker, or before exec): be killed when the parent dies
    (Linux; a no-op elsewhere). Only safe in a single-threaded parent, as any preexec_fn."""

    with contextlib.suppress(OSError, AttributeError):  # not Linux: nothing to do
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _kill_workers(pool: _FuturesExecutor) -> None:
    """Terminate a process pool's workers (a job already running is not waited for)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.terminate()


class LocalExecutor:
    """Jobs on this machine: ``workers`` threads or processes (``pool``)."""

    def __init__(self, workers: int | None = None, pool: Pool | str = Pool.THREADS,
                 retries: int = DEFAULT_RETRIES) -> None:
        self.workers = check_workers(workers) or cpu_count()
        self.pool = Pool.parse(pool, "pool")
        if self.pool == Pool.FORK and "fork" not in multiprocessing.get_all_start_methods():
            self.pool = Pool.SPAWN
        self.retries = retries
        kind = "thread" if self.pool == Pool.THREADS else "worker"
        self.label = plural(self.workers, f"local {kind}")

    def _start(self, count: int) -> _FuturesExecutor:
        if self.pool == Pool.THREADS:
            return ThreadPoolExecutor(max_workers=count)
        return ProcessPoolExecutor(max_workers=count,
                                   mp_context=multiprocessing.get_context(self.pool.value),
                                   initializer=die_with_parent)

    def map(self, fn, items, *, stop_on_error=False, on_stop=None, progress=None):
        items = list(items)
        attempts = [0] * len(items)
        pending = list(range(len(items)))
        while pending:
            pool = self._start(min(self.workers, len(pending)))
            futures: dict[Future, int] = {pool.submit(fn, items[i]): i for i in pending}
            pending, finished = [], False
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    error = fut.exception()
                    if isinstance(error, BrokenProcessPool):
                        if attempts[i] < self.retries:
                            attempts[i] += 1
                            pending.append(i)
                            continue
                        error = ExecutorError(
                            f"the worker process of job {i} died under it {attempts[i] + 1} "
                            "times (killed, or out of memory); use fewer --workers or a "
                            "smaller job")
                    yield Outcome(i, items[i], None if error else fut.result(), error)
                    if progress:
                        progress(1)
                    if error is not None and stop_on_error:
                        return
                finished = True
            finally:
                if not finished:  # stopped early: nothing more may run or keep running
                    for fut in futures:
                        fut.cancel()
                    if on_stop:
                        on_stop()
                    _kill_workers(pool)
                # threads end once on_stop has killed their child processes; killed worker
                # processes are not waited for
                pool.shutdown(wait=finished or self.pool == Pool.THREADS, cancel_futures=True)

    def close(self) -> None:
        """Nothing to release: each map starts and stops its own pool."""


def _dask():
    """dask.distributed, imported on first use (it takes a second; most runs never need it)."""
    try:
        import distributed  # deferred: dask takes a second to import; most runs never need it
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") \
            from None
    return distributed


def connect(scheduler: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A dask.distributed Client of ``scheduler``; InputError naming the fix otherwise."""
    distributed = _dask()
    try:
        return distributed.Client(scheduler, timeout=timeout_s)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                         "with `dask scheduler` and workers with `dask worker ADDRESS`") \
            from None


class DaskExecutor:
    """Jobs on a Dask cluster's workers (``scheduler`` tcp://HOST:PORT), or on a LocalCluster of
    ``workers`` processes started for :data:`LOCAL_DASK`."""

    def __init__(self, scheduler: str, workers: int | None = None,
                 retries: int = DEFAULT_RETRIES, wait_s: float | None = None) -> None:
        distributed = _dask()
        wait_s = WORKER_WAIT_S if wait_s is None else wait_s
        if not isinstance(scheduler, str) or not scheduler:
            raise InputError(f"the Dask scheduler must be an address (tcp://HOST:PORT) or "
                             f"{LOCAL_DASK!r}, got {scheduler!r}")
        self.scheduler, self.retries = scheduler, retries
        self.cluster, self.scratch, self.lost = None, None, False
        if scheduler == LOCAL_DASK:
            import dask  # deferred with distributed (above)

            self.scratch = tempfile.mkdtemp(prefix="codesign-dask-")
            # every worker's and the scheduler's scratch space in one folder, removed at close
            with dask.config.set({"temporary-directory": self.scratch}):
                self.cluster = distributed.LocalCluster(
                    n_workers=check_workers(workers) or cpu_count(), threads_per_worker=1,
                    processes=True, dashboard_address=None, local_directory=self.scratch)
                self.client = distributed.Client(self.cluster)
        else:
            self.client = connect(scheduler)
        try:
            self.client.wait_for_workers(1, timeout=wait_s)
        except (TimeoutError, OSError) as exc:
            self.close()
            if isinstance(exc, TimeoutError):
                raise InputError(f"the Dask scheduler at {scheduler} has no workers (waited "
                                 f"{wait_s:g} s); start one with `dask worker {scheduler}`") \
                    from None
            raise ExecutorError(f"lost the Dask scheduler at {scheduler} ({exc})") from None
        self.label = f"Dask at {scheduler}"

    @property
    def workers(self) -> int:
        try:
            return max(1, len(self.client.scheduler_info().get("workers", {})))
        except Exception:  # noqa: BLE001 - a lost scheduler: report one, the run will say why
            return 1

    def _lost(self, exc: BaseException) -> ExecutorError:
        self.lost = True
        return ExecutorError(
            f"lost the Dask scheduler at {self.scheduler} mid-run ({type(exc).__name__}); what "
            "finished is kept: restart the scheduler and re-run the same command to resume")

    def map(self, fn, items, *, stop_on_error=False, on_stop=None, progress=None):
        distributed = _dask()
        items = list(items)
        stamp = uuid.uuid4().hex[:12]
        try:
            futures = {self.client.submit(fn, item, key=f"codesign-{stamp}-{i}", pure=False,
                                          retries=self.retries): i
                       for i, item in enumerate(items)}
        except Exception as exc:  # noqa: BLE001 - whatever the comm layer raises
            raise self._lost(exc) from None
        finished = False
        try:
            completed = distributed.as_completed(list(futures))
            while True:
                try:
                    fut = next(completed)
                    i = futures[fut]
                    error = fut.exception() if fut.status == "error" else None
                    value = fut.result() if error is None else None
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001 - a lost or cancelled future
                    raise self._lost(exc) from None
                yield Outcome(i, items[i], value, error)
                if progress:
                    progress(1)
                if error is not None and stop_on_error:
                    return
            finished = True
        finally:
            if not finished:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(futures))
                if on_stop:
                    on_stop()

    def close(self) -> None:
        """Close the client (and the LocalCluster and its scratch folder, if started here).
        After a lost scheduler the client's own reconnection logs (tracebacks at ERROR level)
        are silenced: the run has said what happened in one line."""
        if self.lost:
            logging.disable(logging.CRITICAL)
        try:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5 if self.lost else None)
        finally:
            if self.lost:
                logging.disable(logging.NOTSET)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_executor(scheduler: str | None = None, workers: int | None = None,
                 pool: Pool | str = Pool.THREADS, retries: int = DEFAULT_RETRIES) -> Executor:
    """A LocalExecutor of ``pool`` (no ``scheduler``), else a DaskExecutor of ``scheduler``."""
    if scheduler:
        return DaskExecutor(scheduler, workers, retries)
    return LocalExecutor(workers, pool, retries)


@contextlib.contextmanager
def executor(scheduler: str | None = None, workers: int | None = None,
             pool: Pool | str = Pool.THREADS, retries: int = DEFAULT_RETRIES) -> Iterator[Any]:
    """:func:`get_executor` as a context manager that closes it."""
    ex = get_executor(scheduler, workers, pool, retries)
    try:
        yield ex
    finally:
        ex.close()
