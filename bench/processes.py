"""Issue 10's fifth target, second half: N processes placing orders on PostgreSQL against one,
with the oversell check.

Eight worker processes (``multiprocessing`` spawn, each with its own engine and its own domain:
random ids, barcodes and tokens, nothing shared but the database) are started once and warmed
up (three orders each on a performance set apart for it). Each run gives N of them a task and
releases all of them together on one barrier; the others wait for the next run. A worker
places orders of 4 tickets on its structure's holding account (every worker is the relay of its own
structure, so each has its own account and only the performance is shared) until it is refused
for want of places, retrying on a ``ConcurrencyError``. The performances are made for the run
through the API: ``places`` seats for the run (a multiple of 4), with a channel quota of
``places + 2`` and a capacity of ``places + 3``, so that the last order does not fit at either
level and every worker ends on a refusal: the demand is always larger than the capacity.

Two shapes:

- **one performance**: the N workers sell the same performance, so they queue on its lock
  (``Locks.places``): the ratio measures how much of an order happens outside that lock;
- **N performances**: each worker sells its own, ``places / N`` seats each: no lock shared.

A run's rate is the orders accepted over the time from the barrier to the last worker's
refusal. Runs alternate over N (1, 2, 4, 8, then the other way round the next round). After
every run: the places sold (tickets not cancelled) stay within every level (performance,
channel quota; ``support.soak_checks.quota_never_oversold``), the places-sold counters equal a
recount (``places_sold_counted``), and each performance sold exactly its ``places``: no place
oversold, none lost.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from datetime import datetime, timedelta
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import attrs
from sqlalchemy import create_engine, event, func, select

from support.agency import relay_session
from support.corporate import Corporate, set_up_corporate
from support.soak_checks import Observed, places_sold_counted, quota_never_oversold, snapshot
from ticketdomain import (
    AuthorizeStructure,
    ContactRole,
    CreateIndividual,
    CreatePerformance,
    CreateQuota,
    CreateStructure,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ProductConditions,
    SetCatalogProfile,
    TicketDomain,
)
from ticketdomain.core.errors import ConcurrencyError, QuotaExhaustedError
from ticketdomain.testing import (
    FastPasswordHasher,
    InMemoryDocumentStore,
    InMemoryMailer,
    InMemoryPaymentGateway,
    RecordingRenderer,
)
from ticketdomain.testing.domain import LONG_SESSIONS, build_fake_world
from ticketdomain.testing.fakes import FixedClock
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_sqlalchemy import _schema as s
from ticketdomain_system import SecretsBarcodeGenerator, SecretsTokenGenerator, UuidIdGenerator

ORDER_SIZE = 4
WORKERS = 8
SHAPES = ("one performance", "N performances")


@attrs.frozen
class Task:
    """What one worker does in a run: sell ``performance_id`` until refused."""

    performance_id: str


@attrs.frozen
class Done:
    worker: int
    accepted: int
    retries: int
    started: float
    ended: float
    #: CPU seconds the worker process used during the run
    cpu: float = 0.0
    error: str = ""


@attrs.define
class Run:
    shape: str
    processes: int
    orders: int
    seconds: float
    retries: int
    problems: list[str]
    #: CPU seconds the workers used (their Python: the rest is PostgreSQL's)
    workers_cpu: float = 0.0
    #: how busy the machine's cores were over the run, 0 to 1 (``/proc/stat``; None elsewhere)
    busy: float | None = None

    @property
    def rate(self) -> float:
        return self.orders / self.seconds


@attrs.frozen
class LockProfile:
    """Medians over ``orders`` orders placed one after the other by one process: what of an
    order runs while its performance is locked (from the ``SELECT ... FOR UPDATE`` of
    ``Locks.places`` to the return, commit included)."""

    orders: int
    order_ms: float
    held_ms: float
    #: statements sent under the lock, and their time from send to result
    statements: int
    statements_ms: float
    commit_ms: float

    @property
    def share(self) -> float:
        return self.held_ms / self.order_ms


@attrs.frozen
class Measured:
    runs: list[Run]
    profile: LockProfile


# --- the workers ----------------------------------------------------------------------------


def worker(
    index: int,
    url: str,
    schema: str,
    start: datetime,
    token: str,
    tariff_id: str,
    warm_up_performance: str,
    barrier: Barrier,
    tasks: Queue[Task | None],
    results: Queue[Done],
) -> None:
    """One process: its own engine and domain; warms up, then runs the tasks it is given."""
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    storage = SqlAlchemyStorage(engine)
    domain = TicketDomain(
        storage=storage,
        clock=FixedClock(start),
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=InMemoryPaymentGateway(),
        documents=InMemoryDocumentStore(),
        renderer=RecordingRenderer(),
        mailer=InMemoryMailer(),
        passwords=FastPasswordHasher(),
        tokens=SecretsTokenGenerator(),
        security=LONG_SESSIONS,
    )

    def order(performance_id: str) -> None:
        domain.sales.place_order(
            PlaceOrder(
                token,
                (LineRequest(performance_id, tariff_id, ORDER_SIZE),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )

    try:
        try:
            for _ in range(3):
                order(warm_up_performance)
        except Exception as failure:  # reported, so the coordinator does not wait for us
            results.put(Done(index, 0, 0, 0.0, 0.0, error=repr(failure)))
            return
        results.put(Done(index, 0, 0, 0.0, 0.0))
        while True:
            task = tasks.get()
            barrier.wait()
            if task is None:
                continue
            accepted = retries = 0
            error = ""
            started = time.perf_counter()
            cpu = time.process_time()
            while True:
                try:
                    order(task.performance_id)
                except QuotaExhaustedError:
                    break
                except ConcurrencyError:
                    retries += 1
                    continue
                except Exception as failure:  # reported to the coordinator, which fails
                    error = repr(failure)
                    break
                accepted += 1
            ended = time.perf_counter()
            cpu = time.process_time() - cpu
            results.put(Done(index, accepted, retries, started, ended, cpu, error))
    finally:
        engine.dispose()


# --- the coordinator ------------------------------------------------------------------------


@attrs.define
class Pool:
    context: SpawnContext
    barrier: Barrier
    tasks: list[Queue[Task | None]]
    results: Queue[Done]
    processes: list[BaseProcess]

    def run(self, assignments: list[str]) -> list[Done]:
        """Give the first ``len(assignments)`` workers a performance each, release every
        worker together; the finished tasks' reports."""
        for index, queue in enumerate(self.tasks):
            queue.put(Task(assignments[index]) if index < len(assignments) else None)
        found = [self.results.get(timeout=600) for _ in assignments]
        return found

    def close(self) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.join(timeout=10)


def add_relays(corp: Corporate, count: int) -> list[str]:
    """``count`` structures authorized on the works councils' sales point, each with a relay
    session: one holding account per worker."""
    d = corp.world.domain
    tokens = []
    for index in range(count):
        structure = d.contacts.create_structure(
            CreateStructure(corp.operator, f"Bench company {index}")
        )
        relay = d.contacts.create_individual(
            CreateIndividual(
                corp.operator,
                "Relay",
                f"No {index}",
                f"relay{index}@bench.example",
                structure.id,
                ContactRole.RELAY,
            )
        )
        d.setup.authorize_structure(
            AuthorizeStructure(corp.operator, corp.sales_point_id, structure.id)
        )
        tokens.append(relay_session(d, relay.id, corp.sales_point_id))
    return tokens


def performance(corp: Corporate, places: int, quota_channel: str | None) -> str:
    """A performance of ``places + 3`` seats with a channel quota of ``places + 2``: orders
    of 4 fill exactly ``places``, the next is refused at both levels."""
    d = corp.world.domain
    found = d.setup.create_performance(
        CreatePerformance(
            corp.operator,
            corp.activity_id,
            corp.world.clock.now() + timedelta(days=90),
            "Processes",
            places + 3,
        )
    ).id
    if quota_channel is not None:
        d.setup.create_quota(CreateQuota(corp.operator, found, places + 2, quota_channel))
    return found


def sold_per_performance(storage: SqlAlchemyStorage, ids: list[str]) -> dict[str, int]:
    t = s.tickets
    with storage.engine.connect() as connection:
        return {
            row[0]: int(row[1])
            for row in connection.execute(
                select(t.c.performance_id, func.count())
                .where(t.c.performance_id.in_(ids), t.c.state != "cancelled")
                .group_by(t.c.performance_id)
            )
        }


def processes(
    storage: SqlAlchemyStorage,
    url: str,
    rounds: int,
    orders: int,
    counts: tuple[int, ...] = (1, 2, 4, 8),
) -> Measured:
    """``rounds`` alternating rounds over ``counts`` processes and both shapes, ``orders``
    orders per run (a multiple of 8, so the N performances share them evenly); then, with
    the workers gone, how much of one order holds the performance's lock."""
    assert orders % max(counts) == 0
    with storage.engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    world = build_fake_world(storage, security=LONG_SESSIONS)
    corp = set_up_corporate(world, capacity=10)
    d = world.domain
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (ProductConditions(corp.product_id, max_per_order=ORDER_SIZE),),
            sales_point_id=corp.sales_point_id,
        )
    )
    with storage.engine.connect() as connection:
        channel = connection.execute(
            select(s.sales_points.c.channel_id).where(s.sales_points.c.id == corp.sales_point_id)
        ).scalar_one()
    workers = max(counts)
    tokens = add_relays(corp, workers)
    warm = performance(corp, 4 * 3 * workers, None)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    pool = Pool(
        context,
        barrier,
        [context.Queue() for _ in range(workers)],
        context.Queue(),
        [],
    )
    for index in range(workers):
        process = context.Process(
            target=worker,
            args=(
                index,
                url,
                schema,
                world.clock.now(),
                tokens[index],
                corp.tariff_id,
                warm,
                barrier,
                pool.tasks[index],
                pool.results,
            ),
            daemon=True,
        )
        process.start()
        pool.processes.append(process)
    runs: list[Run] = []
    try:
        for _ in range(workers):
            ready = pool.results.get(timeout=600)
            assert not ready.error, ready.error
        for round_index in range(rounds):
            order = counts if round_index % 2 == 0 else tuple(reversed(counts))
            for shape in SHAPES:
                for n in order:
                    runs.append(one_run(pool, storage, corp, channel, shape, n, orders))
    finally:
        pool.close()
    return Measured(runs, held_under_lock(storage, corp, channel, max(orders, 100)))


def one_run(
    pool: Pool,
    storage: SqlAlchemyStorage,
    corp: Corporate,
    channel: str,
    shape: str,
    n: int,
    orders: int,
) -> Run:
    places = orders * ORDER_SIZE
    if shape == SHAPES[0]:
        shared = performance(corp, places, channel)
        ids, assignments = [shared], [shared] * n
    else:
        ids = [performance(corp, places // n, channel) for _ in range(n)]
        assignments = ids
    before = cpu_ticks()
    done = pool.run(assignments)
    after = cpu_ticks()
    problems = [f"worker {r.worker}: {r.error}" for r in done if r.error]
    with snapshot(storage.engine) as db:
        problems += [str(v) for v in quota_never_oversold(db, Observed())]
        problems += [str(v) for v in places_sold_counted(db, Observed())]
    sold = sold_per_performance(storage, ids)
    each = places // len(ids)
    problems += [
        f"performance {p}: {sold.get(p, 0)} places sold, {each} expected"
        for p in ids
        if sold.get(p, 0) != each
    ]
    accepted = sum(r.accepted for r in done)
    if accepted != orders:
        problems.append(f"{accepted} orders accepted, {orders} expected")
    seconds = max(r.ended for r in done) - min(r.started for r in done)
    busy = None
    if before and after and after[1] > before[1]:
        busy = (after[0] - before[0]) / (after[1] - before[1])
    return Run(
        shape,
        n,
        accepted,
        seconds,
        sum(r.retries for r in done),
        problems,
        sum(r.cpu for r in done),
        busy,
    )


def cpu_ticks() -> tuple[int, int] | None:
    """Busy and total jiffies of all cores (Linux), to tell how much of the machine a run
    used."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def held_under_lock(
    storage: SqlAlchemyStorage, corp: Corporate, channel: str, orders: int
) -> LockProfile:
    """Place ``orders`` orders on a fresh performance (with its channel quota), noting when the
    performance's lock is taken, each statement's send and result, and the commit."""
    target = performance(corp, (orders + 10) * ORDER_SIZE, channel)
    d = corp.world.domain

    def order() -> None:
        d.sales.place_order(
            PlaceOrder(
                corp.nina,
                (LineRequest(target, corp.tariff_id, ORDER_SIZE),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )

    for _ in range(10):
        order()
    seen: list[tuple[str, float, str]] = []

    def sent(*args: Any) -> None:
        seen.append(("sent", time.perf_counter(), args[2]))

    def answered(*args: Any) -> None:
        seen.append(("answered", time.perf_counter(), ""))

    def committing(*args: Any) -> None:
        seen.append(("commit", time.perf_counter(), ""))

    hooks = (
        ("before_cursor_execute", sent),
        ("after_cursor_execute", answered),
        ("commit", committing),
    )
    for name, hook in hooks:
        event.listen(storage.engine, name, hook)
    totals, held, statements, statement_times, commits = [], [], [], [], []
    try:
        for _ in range(orders):
            seen.clear()
            start = time.perf_counter()
            order()
            end = time.perf_counter()
            locked = next(
                at
                for kind, at, statement in seen
                if kind == "sent"
                and "FROM td_performances" in statement
                and "FOR UPDATE" in statement.upper()
            )
            under = [
                (at, seen[index + 1][1])
                for index, (kind, at, _) in enumerate(seen)
                if kind == "sent" and at >= locked
            ]
            totals.append(end - start)
            held.append(end - locked)
            statements.append(len(under))
            statement_times.append(sum(answer - send for send, answer in under))
            commits.append(end - next(at for kind, at, _ in seen if kind == "commit"))
    finally:
        for name, hook in hooks:
            event.remove(storage.engine, name, hook)
    return LockProfile(
        orders,
        statistics.median(totals) * 1e3,
        statistics.median(held) * 1e3,
        int(statistics.median(statements)),
        statistics.median(statement_times) * 1e3,
        statistics.median(commits) * 1e3,
    )


def report(measured: Measured, cores: int | None) -> list[str]:
    """One line per shape and N (median rate with min-max over the rounds), then the ratio
    8 / 1 per shape, every problem found, and what of an order holds the performance lock."""
    runs = measured.runs
    lines = []
    for shape in SHAPES:
        by_n: dict[int, list[Run]] = {}
        for run in runs:
            if run.shape == shape:
                by_n.setdefault(run.processes, []).append(run)
        rates = {n: [r.rate for r in found] for n, found in sorted(by_n.items())}
        for n, values in rates.items():
            retries = sum(r.retries for r in by_n[n])
            python_ms = statistics.median(r.workers_cpu * 1e3 / r.orders for r in by_n[n])
            busy = [r.busy for r in by_n[n] if r.busy is not None]
            machine = f", cores {statistics.median(busy):.0%} busy" if busy else ""
            lines.append(
                f"  {shape}, {n} process{'es' if n > 1 else ''}: "
                f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f}) "
                f"orders/s, {by_n[n][0].orders} orders a run, {retries} retries, "
                f"{python_ms:.2f} ms of worker CPU an order{machine}"
            )
        top = max(rates)
        if top > 1:
            ratio = statistics.median(rates[top]) / statistics.median(rates[1])
            target = " (target: at least 1.5)" if top == WORKERS else ""
            lines.append(f"  {shape}: {top} processes / 1 = {ratio:.2f}{target}")
    problems = [problem for run in runs for problem in run.problems]
    lines.append(
        f"  oversell check after each of {len(runs)} runs (every level within its capacity, "
        f"places-sold counters equal a recount, each performance sold exactly its places): "
        + ("OK" if not problems else f"{len(problems)} PROBLEM(S)")
    )
    lines += [f"    {problem}" for problem in problems]
    p = measured.profile
    python_ms = p.held_ms - p.statements_ms - p.commit_ms
    lines.append(
        f"  one process alone, medians of {p.orders} orders: an order {p.order_ms:.2f} ms, of "
        f"which {p.held_ms:.2f} ms ({p.share:.0%}) with the performance locked: {p.statements} "
        f"statements {p.statements_ms:.2f} ms (send to result), Python between them "
        f"{python_ms:.2f} ms, commit {p.commit_ms:.2f} ms; so on one performance at most "
        f"{p.order_ms / p.held_ms:.2f}x one process, whatever the cores"
    )
    lines.append(
        f"  ({cores} cores on this machine, shared by the worker processes, their PostgreSQL "
        "backends and whatever else runs: 'cores busy' counts it all)"
    )
    return lines
