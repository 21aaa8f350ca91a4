"""Catalog parsing: strict, every problem reported."""

import tomllib

import pytest

from reconciler.core.catalog import CurrencyGrant, ItemGrant, parse_catalog
from reconciler.errors import ConfigError

GOOD = """
[products."1002"]
items = [{ item_id = "gem_pack_100", amount = 1 }]
currency = [{ code = "GEM", amount = 500 }]

[products."game_pro1"]
currency = [{ code = "GOLD", amount = 10 }]
"""


def test_parse_good_catalog() -> None:
    catalog = parse_catalog(tomllib.loads(GOOD))
    assert len(catalog) == 2
    product = catalog.get("1002")
    assert product is not None
    assert product.items == (ItemGrant("gem_pack_100", 1),)
    assert product.currency == (CurrencyGrant("GEM", 500),)
    assert catalog.get("nope") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[products."1"]\nitems = [{ item_id = "a", amount = 0 }]', "positive integer"),
        ('[products."1"]\nitems = [{ item_id = "a", amount = -3 }]', "positive integer"),
        ('[products."1"]\nitems = [{ item_id = "a", amount = 1.5 }]', "positive integer"),
        ('[products."1"]\nitems = [{ item_id = "a", amount = true }]', "positive integer"),
        ('[products."1"]\nitems = [{ item_id = "", amount = 1 }]', "non-empty string"),
        ('[products."1"]\nitems = [{ item_id = "a", amount = 1, colour = "red" }]', "colour"),
        ('[products."1"]\nitem = [{ item_id = "a", amount = 1 }]', "unknown key 'item'"),
        ('[products."1"]\nitems = []', "grants nothing"),
        ('[products."1"]\ncurrency = "GEM"', "list of tables"),
        ('[product."1"]\nitems = []', "unknown top-level key 'product'"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_catalog(tomllib.loads(text))
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_all_problems_reported_at_once() -> None:
    text = (
        '[products."1"]\nitems = [{ item_id = "a", amount = 0 }]\n'
        '[products."2"]\ncurrency = [{ code = "G", amount = -1 }]\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_catalog(tomllib.loads(text))
    assert len(info.value.problems) == 2
