"""Effects with exactly-once outcomes: grant, revoke, mark delivered; adopt and attention.

Rules: one conversation per effect with the ledger: one `claim` (intent committed: in flight,
one more attempt, the payload first recorded) before the remote call and one `settle` (the
outcome) after it; a crash between the two leaves an in-flight row that the next pass settles.
Claims and settles of concurrent orders commit in groups (engine.grouping), each awaited until
its COMMIT, so the intent is still durable before the remote call. An outcome commits together
with the order's next claim (one transaction, the outcome first), or alone when there is no
next step: either way before the order's next remote call.
A grant or currency change carries an idempotency token derived from the effect id, so a grant
found in flight is re-sent safely with the payload first recorded. A revocation (not
idempotent in PGOS) reads the player's inventory first and revokes only what is still
available; it re-reads after a refusal. A delivery mark done is written into the order's
record too (the store now lists it delivered), so that the next head scan does not take our
own mark for a change. Targets only report what they could not take back; the
clawback policy is applied by core.plan.clawback alone. Transient failures leave the effect
`failed` (the next pass retries); permanent refusals and shortfalls the policy does not accept
leave it `attention`. On a shared ledger the claim holds the order for this process until
its actions are over (`release_order`); an order another daemon holds is skipped (`busy`),
not waited for: whoever holds it settles it, or the next pass or drain does.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from reconciler.clients.game_server import GameServerClient
from reconciler.clients.jogos import JogosClient
from reconciler.clients.pgos import PgosClient, PgosCommandError
from reconciler.clients.retry import PermanentError, TransientError
from reconciler.concurrency import Foreground
from reconciler.core.plan import Action, ActionKind, ClawbackPolicy, clawback
from reconciler.core.states import EffectState
from reconciler.engine.grouping import GroupCommit
from reconciler.errors import InvariantError
from reconciler.ledger import Effect, Ledger, OrderBusy, Outcome

S = EffectState
T = TypeVar("T")
Write = Callable[[], None]  # a ledger write waiting for its group commit
REVOKE_ROUNDS = 4
SHORTFALL = "clawback_shortfall"  # the error of a revocation waiting on its shortfalls


class Fulfilment(Protocol):
    """Where items live: PGOS, or a studio's own game server."""

    async def grant(self, effect: Effect) -> dict[str, Any]:
        """Apply a grant idempotently; returns what to record (e.g. instance ids)."""
        ...

    async def revoke(self, grant: Effect, revoke_id: str) -> dict[str, Any]:
        """Take back what `grant` gave; returns what was done, with the `shortfalls` (each
        {kind, code, amount, ...}) it could not take back."""
        ...

    async def overdraw(self, grant: Effect, revoke_id: str,
                       currency: Sequence[Mapping[str, Any]]) -> None:
        """Take these currency shortfalls of `grant` below zero (clawback policy `negative`)."""
        ...


class PgosFulfilment:
    """Grants and revocations through the PGOS CLI HTTP API."""

    def __init__(self, client: PgosClient) -> None:
        self.client = client

    async def grant(self, effect: Effect) -> dict[str, Any]:
        """Grant items (one command) and each currency, each with its own token.

        Raises PgosCommandError or TransientError.
        """
        player, payload = str(effect.player_id), effect.payload
        response: dict[str, Any] = {"instances": [], "currency": {}}
        if payload["items"]:
            data = await self.client.grant_items(
                player, [{"ItemID": i["item_id"], "Amount": i["amount"]}
                         for i in payload["items"]], effect.id)
            response["instances"] = [str(i["InstanceID"]) for i in data.get("Instances", [])
                                     if isinstance(i, dict) and "InstanceID" in i]
            response["replayed"] = bool(data.get("Replayed"))
        for currency in payload["currency"]:
            data = await self.client.change_currency(
                player, currency["code"], currency["amount"], f"{effect.id}:{currency['code']}")
            response["currency"][currency["code"]] = data.get("Balance")
        return response

    async def revoke(self, grant: Effect, revoke_id: str) -> dict[str, Any]:
        """Revoke the grant's instances still available, then subtract its currency; what is
        not there (consumed, spent) is reported as a shortfall.

        Raises PgosCommandError, or TransientError when the inventory never settles.
        """
        player = str(grant.player_id)
        wanted = list((grant.response or {}).get("instances", []))
        response: dict[str, Any] = {"revoked": [], "already_revoked": [], "shortfalls": []}
        if wanted:
            status: dict[str, dict[str, Any]] = {}
            for _ in range(REVOKE_ROUNDS):
                inventory = await self.client.inventory(player)
                status = {str(i.get("InstanceID")): i for i in inventory.get("Instances", [])
                          if isinstance(i, dict)}
                available = [i for i in wanted if status.get(i, {}).get("Status") == "Available"]
                if not available:
                    break
                try:
                    await self.client.revoke_instances(player, available)
                    response["revoked"].extend(available)
                except PgosCommandError as exc:
                    if exc.errno != self.client.api.instance_state_errno:
                        raise
            else:
                raise TransientError(f"revocation of {grant.order_id} did not settle")
            for instance_id in wanted:
                found = status.get(instance_id, {})
                state = found.get("Status", "Missing")
                if state == "Revoked":
                    if instance_id not in response["revoked"]:
                        response["already_revoked"].append(instance_id)
                else:
                    response["shortfalls"].append({
                        "kind": "item", "code": str(found.get("ItemID", instance_id)),
                        "amount": int(found.get("Amount", 1)), "status": state,
                        "instance": instance_id})
        for currency in grant.payload["currency"]:
            code, amount = currency["code"], currency["amount"]
            try:
                await self.client.change_currency(player, code, amount, f"{revoke_id}:{code}",
                                                  subtract=True)
            except PgosCommandError as exc:
                if exc.errno != self.client.api.insufficient_balance_errno:
                    raise
                response["shortfalls"].append(
                    {"kind": "currency", "code": code, "amount": amount})
        return response

    async def overdraw(self, grant: Effect, revoke_id: str,
                       currency: Sequence[Mapping[str, Any]]) -> None:
        """Subtract each currency shortfall allowing a negative balance, with its own token.

        Raises PgosCommandError or TransientError.
        """
        for shortfall in currency:
            code = shortfall["code"]
            await self.client.change_currency(
                str(grant.player_id), code, shortfall["amount"], f"{revoke_id}:{code}:negative",
                subtract=True, allow_negative=True)


class SinkFulfilment:
    """Grants and revocations sent to a studio's game server."""

    def __init__(self, client: GameServerClient) -> None:
        self.client = client

    async def grant(self, effect: Effect) -> dict[str, Any]:
        """POST /grant with the effect id as idempotency token."""
        answer = await self.client.send("/grant", {
            "player_id": effect.player_id, "order_id": effect.order_id,
            "items": effect.payload["items"], "currency": effect.payload["currency"],
            "idempotency_token": effect.id})
        return {"replayed": bool(answer.get("replayed"))}

    async def revoke(self, grant: Effect, revoke_id: str) -> dict[str, Any]:
        """POST /revoke with the revoke id as idempotency token."""
        await self.client.send("/revoke", {
            "player_id": grant.player_id, "order_id": grant.order_id,
            "items": grant.payload["items"], "currency": grant.payload["currency"],
            "idempotency_token": revoke_id})
        return {"shortfalls": []}

    async def overdraw(self, grant: Effect, revoke_id: str,
                       currency: Sequence[Mapping[str, Any]]) -> None:
        """Never needed: a game server reports no shortfall.

        Raises InvariantError when asked to overdraw anything.
        """
        if currency:
            raise InvariantError(f"overdraw of {grant.order_id} on a game server")


GameServerFulfilment = SinkFulfilment  # the target's one name (the class is renamed later)


class KeyedLocks:
    """One asyncio lock per order, so that a pass and a notification never act on the same
    order at once; a lock lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: Counter[object] = Counter()

    @asynccontextmanager
    async def hold(self, key: object) -> AsyncIterator[None]:
        """Hold the lock of `key`."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                self._locks.pop(key, None)


class Executor:
    """Runs the plan's actions: per effect one claim, the remote call, one settle."""

    def __init__(self, ledger: Ledger, jogos: dict[int, JogosClient],
                 fulfilment: dict[int, Fulfilment], clawback: ClawbackPolicy,
                 clock: Callable[[], float], locks: KeyedLocks,
                 stopping: asyncio.Event | None = None,
                 foreground: Foreground | None = None,
                 group: GroupCommit | None = None) -> None:
        self.ledger = ledger
        self.jogos = jogos
        self.fulfilment = fulfilment
        self.clawback = clawback
        self.clock = clock
        self.locks = locks
        self.stopping = stopping or asyncio.Event()
        self.foreground = foreground or Foreground(hold_s=0)
        self.group = group or GroupCommit(ledger)
        self.outcomes: Counter[str] = Counter()

    def _now(self) -> int:
        return int(self.clock())

    async def run_order(self, actions: list[Action]) -> None:
        """Run one order's actions in order, stopping at the first that does not succeed.

        The plan was made before the order's lock was taken; if someone else acted on the
        order meanwhile, the claim tells: an effect already done is skipped (the next plan sees
        the truth). Once `stopping` is set, no new order starts; the ones under way finish.
        Raises InvariantError on an impossible transition, LedgerError.
        """
        await self.foreground.quiet()  # a request being answered goes first
        if not actions or self.stopping.is_set():
            return
        order = actions[0].order
        async with self.locks.hold(order.key):
            owed: Write | None = None  # the last outcome, committed with the next write
            try:
                for action in actions:
                    ok, owed = await self._run(action, owed)
                    if not ok:
                        break
                if owed is not None:
                    await self.group.run(owed)
            finally:  # a shared ledger: other processes may act on the order again
                self.ledger.release_order(order.game_id, order.order_id)

    async def _write(self, owed: Write | None, write: Callable[[], T]) -> T:
        """Commit `owed` (the previous step's outcome) and then `write`, in one transaction:
        the outcome is durable before the next step, and one commit serves both. Raises what
        either raised; a failure of `write` undoes only itself (its own savepoint inside the
        group's step) and `owed` stays committed."""
        if owed is None:
            return await self.group.run(write)
        settled = owed

        def both() -> tuple[bool, Any]:
            settled()  # raising here undoes the step: the outcome and the write not made
            try:
                return True, write()
            except Exception as exc:  # returned, not raised: the step keeps the outcome
                return False, exc

        ok, value = await self.group.run(both)
        if not ok:
            raise value
        result: T = value
        return result

    async def _run(self, action: Action, owed: Write | None) -> tuple[bool, Write | None]:
        """Run one action after committing `owed`; (True when it succeeded or was already
        done, the outcome still to commit: the caller commits it with its next write or
        alone, before the order's next remote call).

        Raises InvariantError on an impossible transition, LedgerError.
        """
        order, ledger = action.order, self.ledger
        if action.kind is ActionKind.ADOPT:
            await self._write(owed, lambda: ledger.set_adopted(order.game_id, order.order_id))
            self.outcomes["adopt:done"] += 1
            return True, None
        if action.kind is ActionKind.ATTENTION:
            await self._write(owed, lambda: ledger.set_attention(order.game_id, order.order_id,
                                                                 action.reason))
            self.outcomes[f"attention:{action.reason}"] += 1
            return True, None
        now = self._now()
        try:  # the intent is committed before anything is sent (the group waits for COMMIT)
            effect = await self._write(owed, lambda: ledger.claim(action, now))
        except OrderBusy:  # another daemon settles this order now; the next plan sees it
            self.outcomes[f"{action.kind.value}:busy"] += 1
            return False, None
        if effect is None:
            return True, None
        try:
            outcome = await self._act(effect)
        except TransientError as exc:
            outcome = Outcome(S.FAILED, error=str(exc))
        except PermanentError as exc:
            outcome = Outcome(S.ATTENTION, error=str(exc))
        now, claimed = self._now(), effect

        def settle() -> None:
            ledger.settle(claimed, outcome, now)
            if action.kind is ActionKind.MARK_DELIVERED and outcome.state is S.DONE \
                    and not order.arrived:  # the store says delivered now: so does our record
                ledger.record_orders([replace(order, arrived=True)], now)

        label = "shortfall" if outcome.error == SHORTFALL else outcome.state.value
        self.outcomes[f"{effect.kind}:{label}"] += 1
        return outcome.state is S.DONE, settle

    async def _act(self, effect: Effect) -> Outcome:
        """The remote call(s) of a claimed effect. Raises TransientError, PermanentError."""
        target = self.fulfilment[effect.game_id]
        if effect.kind == ActionKind.GRANT.value:
            return Outcome(S.DONE, await target.grant(effect))
        if effect.kind == ActionKind.REVOKE.value:
            return await self._revoke(target, effect)
        await self.jogos[effect.game_id].mark_delivered(effect.order_id)
        return Outcome(S.DONE, {})

    async def _revoke(self, target: Fulfilment, effect: Effect) -> Outcome:
        grant = effect.grant
        if grant is None:
            raise InvariantError(f"revoke {effect.id} claimed without its grant")
        response = await target.revoke(grant, effect.id)
        decision = clawback(self.clawback, response.get("shortfalls", []))
        if decision.waits:
            return Outcome(S.ATTENTION, response, error=SHORTFALL)
        if decision.overdraw:
            await target.overdraw(grant, effect.id, decision.overdraw)
        return Outcome(S.DONE, {**response, "shortfalls": list(decision.debts)},
                       debts=decision.debts)
