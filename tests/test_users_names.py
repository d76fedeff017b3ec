"""Look-alike user names (issue 17): a name that reads like one the roster holds is refused, exit 6 naming it.

`zhаng` with a Cyrillic а beside `zhang`, or `ｌｉ`, `LI`, `li.` beside `li`, would let the history show one
person signing as another. The rule is Unicode's confusable skeletons (UTS #39) with case and a name's
punctuation folded, the same rule that keeps `Ｓcheduler` from passing for the engine. Each database test runs on
SQLite and PostgreSQL.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from cli.main import cli
from engine.app import accounts
from engine.domain import lookalikes
from engine.domain.errors import Conflict

LOOKALIKES = {"zh\u0430ng": "zhang", "ｌｉ": "li", "LI": "li", "li.": "li", "Zhang": "zhang", "1iu": "liu",
              "zhang_": "zhang", "ℓi": "li", "\u0435nt": "ent", "wаng": "wang"}


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_a_name_that_reads_like_an_existing_user_is_refused_naming_them(service, name):
    """li (committee over 37) adds each look-alike: Conflict, rule user-lookalike, naming the user it reads as;
    nothing is added."""
    before = accounts.grant_log(service)
    with pytest.raises(Conflict) as caught:
        service.commands.add_user(name, roles=["committee"], regions=["3717"], actor="li")
    assert caught.value.rule == "user-lookalike" and caught.value.exit_code == 6
    assert f"looks like the existing user '{LOOKALIKES[name]}'" in caught.value.message
    assert name not in {u.name for u in service.queries.users()}
    assert accounts.grant_log(service) == before


def test_the_refusal_names_the_characters_that_make_the_look_alike(service):
    """The message shows which code point is foreign, so the administrator sees why two equal-looking names differ."""
    with pytest.raises(Conflict, match="U\\+0430 CYRILLIC SMALL LETTER A"):
        service.commands.add_user("zh\u0430ng", roles=["supervisor"], regions=["3717"], actor="li")


def test_a_disabled_users_name_keeps_its_look_alikes_away(service):
    """liu disabled still owns the name: `1iu` is refused as reading like the disabled user liu."""
    service.commands.disable_user("liu", actor="li")
    with pytest.raises(Conflict, match="existing disabled user 'liu'"):
        service.commands.add_user("1iu", roles=["supervisor"], regions=["3717"], actor="li")


@pytest.mark.parametrize("name", ["zhang2", "lin", "wang-a", "li_ming", "张三", "zhangwei"])
def test_names_that_read_differently_are_added(service, name):
    """Names that merely share letters with a user are not look-alikes."""
    service.commands.add_user(name, roles=["supervisor"], regions=["3717"], actor="li")
    assert name in {u.name for u in service.queries.users()}


def test_the_command_line_exits_6_and_says_whom_the_name_looks_like(seeded_url):
    """`user add zhаng` exits 6 with the rule and the existing name, in text and in JSON."""
    runner = CliRunner()
    base = ["--db", seeded_url, "--actor", "li", "user", "add", "zh\u0430ng", "--role", "committee", "--region", "37"]
    result = runner.invoke(cli, base)
    assert result.exit_code == 6, result.output
    assert "looks like the existing user 'zhang'" in result.stderr and "U+0430" in result.stderr
    document = json.loads(runner.invoke(cli, ["--json"] + base).stdout)
    assert document["error"]["rule"] == "user-lookalike" and document["error"]["exit_code"] == 6


@pytest.mark.parametrize("name,reads_as", [("zh\u0430ng", "zhang"), ("Il", "ll"), ("rn", "m"), ("o0", "oo"),
                                            ("Ｓcheduler", "scheduler"), ("sys_tem", "system"), ("LI", "li")])
def test_skeletons_fold_scripts_widths_case_and_punctuation(name, reads_as):
    """The pairs the issue names and UTS #39's classic ones read alike."""
    assert lookalikes.looks_like(name, reads_as) and lookalikes.looks_like(reads_as, name)


@pytest.mark.parametrize("name,other", [("li", "liu"), ("zhang", "zhang1"), ("li", "lj"), ("王五", "王伍")])
def test_different_names_do_not_read_alike(name, other):
    assert not lookalikes.looks_like(name, other)


@given(st.text(max_size=20), st.text(max_size=20))
def test_reading_alike_is_reflexive_and_symmetric(a, b):
    """Any text reads like itself, and `a` like `b` exactly when `b` reads like `a` (so the order users were added
    in does not decide which one is refused)."""
    assert lookalikes.looks_like(a, a)
    assert lookalikes.looks_like(a, b) == lookalikes.looks_like(b, a)
