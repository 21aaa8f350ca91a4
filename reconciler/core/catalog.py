"""The product catalog: what each Jogos `productId` grants in the game.

Rules: parsing is pure and strict. Unknown keys, missing grants and non-positive or
non-integer amounts are errors, all reported at once with the path of each problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ItemGrant:
    """`amount` of PGOS item `item_id`."""

    item_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class CurrencyGrant:
    """`amount` of virtual currency `code`."""

    code: str
    amount: int


@dataclass(frozen=True, slots=True)
class Product:
    """What one purchase of a product grants."""

    product_id: str
    items: tuple[ItemGrant, ...] = ()
    currency: tuple[CurrencyGrant, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalog:
    """Products by Jogos product id."""

    products: Mapping[str, Product]

    def get(self, product_id: str) -> Product | None:
        """The product, or None when the catalog does not know it."""
        return self.products.get(product_id)

    def __len__(self) -> int:
        return len(self.products)


_PRODUCT_KEYS = {"items", "currency"}
_ENTRY_KEYS = {"items": ("item_id", "amount"), "currency": ("code", "amount")}


def _entries(
    where: str, kind: str, value: Any, problems: list[str]
) -> list[tuple[str, int]]:
    id_key, amount_key = _ENTRY_KEYS[kind]
    if not isinstance(value, list):
        problems.append(f"{where}.{kind}: must be a list of tables")
        return []
    out: list[tuple[str, int]] = []
    for index, entry in enumerate(value):
        at = f"{where}.{kind}[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: must be a table like {{ {id_key} = ..., amount = ... }}")
            continue
        for unknown in sorted(set(entry) - {id_key, amount_key}):
            problems.append(f"{at}: unknown key {unknown!r}")
        ident, amount = entry.get(id_key), entry.get(amount_key)
        ok = True
        if not isinstance(ident, str) or not ident.strip():
            problems.append(f"{at}.{id_key}: must be a non-empty string")
            ok = False
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            problems.append(f"{at}.{amount_key}: must be a positive integer, got {amount!r}")
            ok = False
        if ok:
            out.append((str(ident), int(amount)))  # type: ignore[arg-type]
    return out


def parse_catalog(doc: Mapping[str, Any]) -> Catalog:
    """Build a Catalog from a parsed TOML document with a `[products."<id>"]` table.

    Raises ConfigError listing every problem.
    """
    problems: list[str] = []
    for unknown in sorted(set(doc) - {"products"}):
        problems.append(f"catalog: unknown top-level key {unknown!r}")
    table = doc.get("products", {})
    if not isinstance(table, dict):
        raise ConfigError(["catalog: products must be a table"])
    products: dict[str, Product] = {}
    for product_id, spec in table.items():
        where = f"products.{product_id!r}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a table")
            continue
        for unknown in sorted(set(spec) - _PRODUCT_KEYS):
            problems.append(f"{where}: unknown key {unknown!r}")
        before = len(problems)
        items = _entries(where, "items", spec.get("items", []), problems)
        currency = _entries(where, "currency", spec.get("currency", []), problems)
        if not items and not currency and len(problems) == before:
            problems.append(f"{where}: grants nothing (give items and/or currency)")
        products[product_id] = Product(
            product_id,
            tuple(ItemGrant(i, a) for i, a in items),
            tuple(CurrencyGrant(c, a) for c, a in currency),
        )
    if problems:
        raise ConfigError(problems)
    return Catalog(products)
