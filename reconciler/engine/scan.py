"""How a pass reads each game's list: the whole list (a sweep), or from the newest end until
nothing is new (a head scan, see engine.head), streamed through one Pipeline.

Rules: one effect pool serves every game of the pass and is closed (its work finished) before
the pass ends; a failure anywhere (a page, the ledger, an effect) cancels the rest and is raised
as itself. A sweep reads with page-shift coverage under both readings (engine.fetch); pages
are processed as they arrive, whatever has arrived at once, up to a chunk of rows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.engine.fetch import Credits, PageRows, read_pages
from reconciler.engine.stream import END, EffectPool, Pipeline, Streamed, consume

if TYPE_CHECKING:
    from reconciler.engine.passes import Engine, GameRuntime, Progress


@dataclass(frozen=True)
class Scope:
    """What a pass reads: everything (`full`), the head until `quiet_pages` pages in a row hold
    nothing new or changed (`head`), or the head back to orders paid at `since_s`."""

    kind: str = "full"  # "full", "head" or "since"
    since_s: int | None = None

    @classmethod
    def full(cls) -> Scope:
        """The whole list."""
        return cls("full")

    @classmethod
    def head(cls) -> Scope:
        """The newest end, until nothing is new."""
        return cls("head")

    @classmethod
    def since(cls, since_s: int) -> Scope:
        """The newest end, back to orders paid at `since_s`."""
        return cls("since", since_s)


async def stream_games(engine: Engine, streamed: Streamed, scope: Scope, *, dry_run: bool,
                       now_s: int, progress: Progress | None = None) -> Counter[str]:
    """Read, record, plan and act for every game; returns the effects' outcomes.

    Raises PermanentError, TransientError or UpstreamError from getOrders; LedgerError,
    InvariantError from the ledger or the executor.
    """
    from reconciler.engine.head import scan_head

    executor = engine.executor()
    credits = Credits(engine.chunk_orders)
    done = [0]

    def effects_done(count: int) -> None:
        done[0] += count
        if progress is not None:
            progress.effects(done[0], streamed.figures["planned"])

    pool = None if dry_run else EffectPool(executor, engine.effect_concurrency, effects_done)
    pipeline = Pipeline(engine.ledger, engine.plan_batch, streamed, credits, pool, now_s=now_s,
                        foreground=engine.foreground)
    try:
        async with asyncio.TaskGroup() as group:
            if pool is not None:
                pool.start(group)
            for game in engine.games:
                if engine.stopping.is_set():
                    break
                if scope.kind == "full":
                    await sweep(engine, game, pipeline, progress)
                else:
                    await scan_head(engine, game, pipeline, scope, progress)
            if pool is not None:
                await pool.close()
    except ExceptionGroup as failure:
        raise first_error(failure) from None
    return executor.outcomes


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of a (possibly nested) group: what a pass raises as itself."""
    first = group.exceptions[0]
    return first_error(first) if isinstance(first, BaseExceptionGroup) else first


async def sweep(engine: Engine, game: GameRuntime, pipeline: Pipeline,
                 progress: Progress | None) -> None:
    """Every page of one game through the pipeline. Raises what stream_games raises."""
    queue: asyncio.Queue[PageRows | None] = asyncio.Queue()

    def deliver(page: PageRows) -> None:
        pipeline.arrived(page)
        queue.put_nowait(page)

    async def read() -> None:
        try:
            result = await read_pages(game.jogos, page_size=engine.page_size,
                                      concurrency=engine.concurrency, deliver=deliver,
                                      credits=pipeline.credits,
                                      on_page=progress.pages if progress else None)
        finally:
            queue.put_nowait(END)
        figures = pipeline.streamed.figures
        figures["pages"] += result.pages_read
        figures["rereads"] += result.rereads
        figures["total_drift"] += result.total_at_end - result.total_at_start

    async with asyncio.TaskGroup() as group:
        reader = group.create_task(read(), name=f"pages-{game.game_id}")
        await consume(queue, pipeline, game.game_id, engine.chunk_orders, engine.stopping,
                      engine.foreground)
        reader.cancel()  # stopping: no more pages (a reader already done ignores this)
