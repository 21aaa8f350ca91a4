"""`reconciler players import`: strict and kind. Exact columns, a BOM accepted, `-` for
standard input, every problem with its line, re-links only with --replace, unknown games
refused, nothing written unless every row is valid."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from reconciler.cli.ledger_tools import parse_links
from reconciler.ledger import Ledger
from tests.cli.conftest import configure_one_game, run

GAMES = {9943, 1220}


@pytest.mark.parametrize(("text", "problems"), [
    ("user_id,player_id\nu1,p1,extra\n", ["line 2: 3 fields, the header has 2"]),
    ("user_id,player_id\nu1\n", ["line 2: 1 fields, the header has 2"]),
    ("user_id,player_id\nu1,\n", ["line 2: player_id is empty"]),
    ("user_id,player_id\n,p1\n", ["line 2: user_id is empty"]),
    ("user_id,player_id\nu1,p 1\n", ["line 2: player_id 'p 1' must be 1 to 128 of "
                                      "A-Za-z0-9-_.:@"]),
    ("user_id,player_id,game_id\nu1,p1,77\n", ["line 2: game 77 is not configured "
                                               "(configured: 1220, 9943)"]),
    ("user_id,player_id,game_id\nu1,p1,x\n", ["line 2: game_id 'x' is not a number"]),
    ("user_id,player_id\nu1,p1\nu1,p2\n", ["line 3: user u1 of game 9943 is also on line 2"]),
    ("user,player_id\nu1,p1\n", ["line 1: header lacks user_id", "line 1: unknown column "
                                 "'user'", "the header must be user_id,player_id or "
                                 "user_id,player_id,game_id"]),
    ("", ["the file is empty (expected a header: user_id,player_id[,game_id])"]),
    ("user_id,player_id\n", ["no rows after the header"]),
])
def test_every_problem_names_its_line(text: str, problems: list[str]) -> None:
    _, found = parse_links(text, 9943, GAMES)
    assert found == problems


def test_good_rows_any_column_order_and_blank_lines() -> None:
    links, problems = parse_links("player_id,game_id,user_id\np1,1220,u1\n\np2,,u2\n", 9943,
                                  GAMES)
    assert problems == []
    assert links == [(1220, "u1", "p1"), (9943, "u2", "p2")]


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return configure_one_game(monkeypatch, tmp_path)


def links_in(db: Path) -> dict[tuple[int, str], str]:
    ledger = Ledger.open(db)
    try:
        return ledger.links([9943])
    finally:
        ledger.close()


def test_bom_stdin_relink_and_all_or_nothing(configured: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "links.csv"
    first.write_bytes("user_id,player_id\r\nu1,p1\r\nu2,p2\r\n".encode("utf-8-sig"))
    code, out, err = run(capsys, "players", "import", str(first))
    assert code == 0, err
    assert "linked 2 new, re-linked 0, 0 unchanged" in out

    class Stdin:
        buffer = io.BytesIO(b"user_id,player_id\nu1,p9\nu3,p3\n")

    monkeypatch.setattr("sys.stdin", Stdin)
    code, out, err = run(capsys, "players", "import", "-")
    assert code == 1
    assert err.startswith("-: nothing done:") and "user u1 of game 9943 is linked to player " \
        "p1, not p9: add --replace" in err
    assert links_in(configured) == {(9943, "u1"): "p1", (9943, "u2"): "p2"}  # nothing written

    Stdin.buffer = io.BytesIO(b"user_id,player_id\nu1,p9\nu3,p3\nu2,p2\n")
    code, out, err = run(capsys, "players", "import", "-", "--replace")
    assert code == 0, err
    assert "linked 1 new, re-linked 1, 1 unchanged" in out
    assert links_in(configured) == {(9943, "u1"): "p9", (9943, "u2"): "p2",
                                    (9943, "u3"): "p3"}

    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,player_id\nu4,p4\nu5,\n")
    code, _, err = run(capsys, "players", "import", str(bad))
    assert code == 1 and "line 3: player_id is empty" in err
    assert (9943, "u4") not in links_in(configured)
