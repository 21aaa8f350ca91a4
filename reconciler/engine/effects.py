"""Effects with exactly-once outcomes: grant, revoke, mark delivered; adopt and attention.

Rules: intent (`in_flight`, attempts + 1) is committed before the remote call and the outcome
after it. A grant or currency change carries an idempotency token derived from the effect id,
so a grant found in flight after a crash is re-sent safely with the payload first recorded. A
revocation (not idempotent in PGOS) reads the player's inventory first and revokes only what
is still available; it re-reads after a refusal. Transient failures leave the effect `failed`
(the next pass retries); permanent refusals and clawback shortfalls under the `fail` policy
leave it `attention`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from reconciler.clients.game_server import GameServerClient
from reconciler.clients.jogos import JogosClient
from reconciler.clients.pgos import PgosClient, PgosCommandError
from reconciler.clients.retry import PermanentError, TransientError
from reconciler.core.models import effect_id
from reconciler.core.plan import Action, ActionKind
from reconciler.core.states import EffectState
from reconciler.errors import InvariantError
from reconciler.ledger import Effect, Ledger

S = EffectState
REVOKE_ROUNDS = 4


class Fulfilment(Protocol):
    """Where items live: PGOS, or a studio's own game server."""

    async def grant(self, effect: Effect) -> dict[str, Any]:
        """Apply a grant idempotently; returns what to record (e.g. instance ids)."""
        ...

    async def revoke(self, grant: Effect, revoke_id: str) -> dict[str, Any]:
        """Take back what `grant` gave; returns what was done with `shortfalls`."""
        ...


def grant_payload(action: Action) -> dict[str, Any]:
    """What a grant sends, recorded with its intent so that a re-send is identical.

    Raises InvariantError when the plan did not resolve the product and the player.
    """
    if action.product is None or action.player_id is None:
        raise InvariantError(f"grant of {action.order.order_id} without product or player")
    return {
        "product_id": action.product.product_id,
        "items": [{"item_id": i.item_id, "amount": i.amount} for i in action.product.items],
        "currency": [{"code": c.code, "amount": c.amount} for c in action.product.currency],
    }


class PgosFulfilment:
    """Grants and revocations through the PGOS CLI HTTP API."""

    def __init__(self, client: PgosClient, clawback: str) -> None:
        self.client = client
        self.clawback = clawback

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
        """Revoke the grant's instances still available, then subtract its currency.

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
            token = f"{revoke_id}:{code}"
            try:
                await self.client.change_currency(player, code, amount, token, subtract=True)
            except PgosCommandError as exc:
                if exc.errno != self.client.api.insufficient_balance_errno:
                    raise
                if self.clawback == "negative":
                    await self.client.change_currency(player, code, amount, f"{token}:negative",
                                                      subtract=True, allow_negative=True)
                else:
                    response["shortfalls"].append(
                        {"kind": "currency", "code": code, "amount": amount})
        return response


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
    """Runs the plan's actions, recording intent and outcome around every remote call."""

    def __init__(self, ledger: Ledger, jogos: dict[int, JogosClient],
                 fulfilment: dict[int, Fulfilment], clawback: str,
                 clock: Callable[[], float], locks: KeyedLocks,
                 stopping: asyncio.Event | None = None) -> None:
        self.ledger = ledger
        self.jogos = jogos
        self.fulfilment = fulfilment
        self.clawback = clawback
        self.clock = clock
        self.locks = locks
        self.stopping = stopping or asyncio.Event()
        self.outcomes: Counter[str] = Counter()

    def _now(self) -> int:
        return int(self.clock())

    async def run_order(self, actions: list[Action]) -> None:
        """Run one order's actions in order, stopping at the first that does not succeed.

        The plan was made before the order's lock was taken; if someone else acted on the
        order meanwhile, the effect states tell: an action whose effect is already done is
        skipped (the next plan sees the truth). Once `stopping` is set, no new order starts;
        the ones under way finish.
        """
        if not actions or self.stopping.is_set():
            return
        async with self.locks.hold(actions[0].order.key):
            for action in actions:
                if self._already_done(action):
                    continue
                if not await self.run(action):
                    return

    def _already_done(self, action: Action) -> bool:
        if action.kind not in (ActionKind.GRANT, ActionKind.REVOKE):
            return False
        effect = self.ledger.effect(action.effect_id)
        return effect is not None and effect.state is S.DONE

    async def run(self, action: Action) -> bool:
        """Run one action; True when it succeeded."""
        order = action.order
        if action.kind is ActionKind.ADOPT:
            self.ledger.set_adopted(order.game_id, order.order_id)
            self.outcomes["adopt:done"] += 1
            return True
        if action.kind is ActionKind.ATTENTION:
            self.ledger.set_attention(order.game_id, order.order_id, action.reason)
            self.outcomes[f"attention:{action.reason}"] += 1
            return True
        if action.kind is ActionKind.GRANT:
            return await self._grant(action)
        if action.kind is ActionKind.REVOKE:
            return await self._revoke(action)
        return await self._deliver(action)

    async def _settle(self, kind: str, effect: Effect, call: Any) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = await call
        except TransientError as exc:
            self.ledger.finish_effect(effect.id, S.FAILED, self._now(), error=str(exc))
            self.outcomes[f"{kind}:failed"] += 1
            return None
        except PermanentError as exc:
            self.ledger.finish_effect(effect.id, S.ATTENTION, self._now(), error=str(exc))
            self.outcomes[f"{kind}:attention"] += 1
            return None
        return response

    async def _grant(self, action: Action) -> bool:
        order = action.order
        existing = self.ledger.effect(action.effect_id)
        if existing is not None:
            payload, player = existing.payload, existing.player_id
        else:
            payload, player = grant_payload(action), action.player_id
        effect = self.ledger.begin_effect(action.effect_id, "grant", order.game_id,
                                          order.order_id, player, payload, self._now())
        response = await self._settle("grant", effect,
                                      self.fulfilment[order.game_id].grant(effect))
        if response is None:
            return False
        self.ledger.finish_effect(effect.id, S.DONE, self._now(), response=response)
        self.ledger.set_attention(order.game_id, order.order_id, None)
        self.outcomes["grant:done"] += 1
        return True

    async def _revoke(self, action: Action) -> bool:
        order = action.order
        grant = self.ledger.effect(effect_id("grant", order.game_id, order.order_id))
        if grant is None or grant.state is not S.DONE:
            raise InvariantError(f"revoke of {order.order_id} before its grant is done")
        effect = self.ledger.begin_effect(action.effect_id, "revoke", order.game_id,
                                          order.order_id, grant.player_id,
                                          {"grant": grant.id}, self._now())
        response = await self._settle("revoke", effect,
                                      self.fulfilment[order.game_id].revoke(grant, effect.id))
        if response is None:
            return False
        shortfalls = response.get("shortfalls", [])
        if shortfalls and self.clawback == "fail":
            self.ledger.finish_effect(effect.id, S.ATTENTION, self._now(), response=response,
                                      error="clawback_shortfall")
            self.outcomes["revoke:shortfall"] += 1
            return False
        for index, shortfall in enumerate(shortfalls):
            self.ledger.record_debt(
                f"{effect.id}:{index}", order.game_id, order.order_id, str(grant.player_id),
                shortfall["kind"], shortfall["code"], int(shortfall["amount"]), self._now())
        self.ledger.finish_effect(effect.id, S.DONE, self._now(), response=response)
        self.outcomes["revoke:done"] += 1
        return True

    async def _deliver(self, action: Action) -> bool:
        order = action.order
        effect = self.ledger.begin_effect(action.effect_id, "arrived", order.game_id,
                                          order.order_id, None, {}, self._now())
        client = self.jogos[order.game_id]
        done = await self._settle("arrived", effect, _deliver(client, order.order_id))
        if done is None:
            return False
        self.ledger.finish_effect(effect.id, S.DONE, self._now(), response=done)
        self.outcomes["arrived:done"] += 1
        return True


async def _deliver(client: JogosClient, order_id: str) -> dict[str, Any]:
    await client.mark_delivered(order_id)
    return {}
