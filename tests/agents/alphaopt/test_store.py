"""ExperienceLibrary: storage, change log, export/import, migrations, crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agents.alphaopt import Bucket, ExperienceLibrary, Insight, InsightStats, LibraryError

REPO = Path(__file__).resolve().parents[3]
PATH = ["General Formulation", "Variable Definition", "Integrality"]


def _insight(text: str = "declare counts integer", **kw: object) -> Insight:
    return Insight(taxonomy=PATH, condition="counts of things", explanation=text, **kw)


def test_add_then_get_returns_the_same_insight(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        new_id = library.add(_insight(example="x -> int", provenance=["a"]))
        got = library.get(new_id)
    assert (got.id, got.example, got.provenance, got.taxonomy) == (new_id, "x -> int", ["a"], PATH)


def test_taxonomy_path_must_have_track_and_two_levels() -> None:
    with pytest.raises(ValueError, match="track"):
        Insight(taxonomy=["Cooking", "A", "B"], condition="c", explanation="e")
    with pytest.raises(ValueError, match="level-2"):
        Insight(taxonomy=["Domain Modeling", "Routing"], condition="c", explanation="e")


def test_new_library_holds_the_seed_taxonomy(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        tracks = {label.track for label in library.labels()}
        assert tracks == {"Domain Modeling", "General Formulation", "Code Implementation"}
        assert library.has_label(["general formulation", "VARIABLE DEFINITION", "integrality"])
        assert all(label.definition and label.condition for label in library.labels())


def test_record_moves_an_item_between_buckets_and_counts(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        new_id = library.add(_insight())
        library.record(new_id, "item-1", Bucket.POSITIVE, helped=1)
        library.record(new_id, "item-1", Bucket.NEGATIVE, hurt=1)
        got = library.get(new_id)
    assert got.distribution.negative == ["item-1"] and got.distribution.positive == []
    assert (got.stats.helped, got.stats.hurt) == (1, 1)


def test_refine_retire_and_merge_are_logged_with_reasons(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        a, b = library.add(_insight("one")), library.add(_insight("two"))
        library.update(
            library.get(a).model_copy(update={"condition": "narrow"}), kind="refine", reason="why1"
        )
        merged = library.merge([a, b], _insight("one and two"), "duplicates")
        library.retire(merged, "hurt too often")
        kinds = [(c.kind, c.reason) for c in library.changes()]
        assert library.get(a).version == 2 and library.get(a).status == "merged"
        assert library.all() == []
    assert ("refine", "why1") in kinds and ("retire", "hurt too often") in kinds
    assert any(kind == "merge" for kind, _ in kinds)


def test_import_of_an_export_deduplicates_and_keeps_stats(tmp_path: Path) -> None:
    source = ExperienceLibrary(tmp_path / "a.sqlite")
    source.add(_insight("shared", stats=InsightStats(retrieved=5, helped=3), provenance=["p1"]))
    source.add(_insight("only in a"))
    source.export_json(tmp_path / "a.json")
    target = ExperienceLibrary(tmp_path / "b.sqlite")
    target.add(_insight("unrelated"))
    target.add(_insight("  Shared ", provenance=["p2"]))  # same text up to case and spacing

    first = target.import_json(tmp_path / "a.json")
    second = target.import_json(tmp_path / "a.json")

    assert (first["added"], first["deduplicated"]) == (1, 1)
    assert (second["added"], second["deduplicated"]) == (0, 2)
    texts = sorted(i.explanation.strip() for i in target.all())
    assert texts == ["Shared", "only in a", "unrelated"]
    shared = next(i for i in target.all() if i.explanation.strip() == "Shared")
    assert shared.stats.helped == 3 and shared.provenance == ["p2", "p1"]
    assert {i.id for i in target.all()} == {1, 2, 3}  # ids reassigned in the target


def test_export_is_plain_json_with_format_marker(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        library.add(_insight())
        library.export_json(tmp_path / "out.json")
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["format"] == "optoforge-alphaopt-library"
    assert document["insights"][0]["explanation"] == "declare counts integer"


def test_version_1_library_is_migrated_keeping_its_insights(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute(
            "CREATE TABLE insights (id INTEGER PRIMARY KEY AUTOINCREMENT, taxonomy TEXT NOT NULL,"
            " condition TEXT NOT NULL, explanation TEXT NOT NULL, example TEXT NOT NULL DEFAULT "
            "'', provenance TEXT NOT NULL DEFAULT '[]', stats TEXT NOT NULL DEFAULT '{}', "
            "created TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO insights (taxonomy, condition, explanation, created) VALUES (?,?,?,?)",
            (json.dumps(PATH), "old condition", "old lesson", "2025-01-01"),
        )
    with ExperienceLibrary(path) as library:
        assert library.schema_version == 3
        [old] = library.all()
        assert (old.explanation, old.status, old.version) == ("old lesson", "active", 1)
        assert library.labels()


def test_library_from_a_newer_optoforge_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    ExperienceLibrary(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(LibraryError, match="upgrade optoforge"):
        ExperienceLibrary(path)


def test_sigkilled_writer_loses_no_insight_whose_add_returned(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.agents.alphaopt._writer", str(path), "5"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    returned = [int(writer.stdout.readline()) for _ in range(5)]
    os.kill(writer.pid, signal.SIGKILL)  # right after the last add() returned
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    with ExperienceLibrary(path) as library:
        stored = {i.id: i.explanation for i in library.all()}
    assert sorted(stored) == returned
    assert stored[returned[-1]] == "explanation 4"


def test_adding_an_identical_insight_returns_the_stored_id_and_folds_it(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        first = library.add(_insight(provenance=["a"], stats=InsightStats(helped=2)))
        again = library.add(_insight("  Declare COUNTS integer ", provenance=["b"]))
        repeat = library.add(_insight("  Declare COUNTS integer ", provenance=["b"]))
        stored = library.all(include_inactive=True)
        adds = [c for c in library.changes() if c.kind == "add"]
    assert first == again == repeat
    assert len(stored) == 1 and len(adds) == 1
    assert stored[0].provenance == ["a", "b"] and stored[0].stats.helped == 2


def _restart_writer(path: Path, count: int) -> list[int]:
    """Run the writer child over the first ``count`` items, then SIGKILL it mid-session."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.agents.alphaopt._writer", str(path), str(count)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    ids = [int(writer.stdout.readline()) for _ in range(count)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    return ids


def test_restarted_writer_then_export_and_import_into_empty_library_is_the_identity(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lib.sqlite"
    first = _restart_writer(path, 4)
    second = _restart_writer(path, 6)  # restarted over the same items, then two new ones
    assert second[:4] == first
    with ExperienceLibrary(path) as library:
        library.merge(second[:2], _insight("counts and sizes"), "duplicates")
        library.retire(second[2], "hurt")
        library.export_json(tmp_path / "out.json")
        before = library.all(include_inactive=True)
    with ExperienceLibrary(tmp_path / "copy.sqlite") as copy:
        counts = copy.import_json(tmp_path / "out.json")
        after = copy.all(include_inactive=True)

    def content(insights: list[Insight]) -> list[dict[str, object]]:
        return [i.model_dump(exclude={"id"}) for i in insights]

    assert counts == {"added": 7, "deduplicated": 0, "labels": 0}
    assert len(before) == len(after) == 7
    assert content(after) == content(before)
    assert sorted(i.status for i in after) == ["active"] * 4 + ["merged"] * 2 + ["retired"]


def test_refining_an_insight_into_a_copy_of_another_folds_it_into_that_one(
    tmp_path: Path,
) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        a = library.add(_insight("one", provenance=["p1"]))
        b = library.add(_insight("two", provenance=["p2"]))
        kept = library.update(
            library.get(b).model_copy(update={"explanation": "ONE"}), kind="refine", reason="r"
        )
        assert kept.id == a and kept.provenance == ["p1", "p2"]
        assert library.get(b).status == "merged" and library.get(b).explanation == "two"
        assert [i.id for i in library.all()] == [a]


def test_merge_whose_result_is_one_of_its_sources_keeps_that_source(tmp_path: Path) -> None:
    with ExperienceLibrary(tmp_path / "lib.sqlite") as library:
        a, b = library.add(_insight("one")), library.add(_insight("two"))
        merged = library.merge([a, b], _insight("One"), "b is a special case of a")
        assert merged == a
        assert library.get(a).status == "active" and library.get(b).status == "merged"


def test_version_2_library_with_duplicates_is_folded_on_open(tmp_path: Path) -> None:
    from agents.alphaopt import schema

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        schema.MIGRATIONS[1](db)
        schema.MIGRATIONS[2](db)
        for text, provenance, status in [
            ("lesson", ["a"], "retired"),
            ("other", ["x"], "active"),
            ("LESSON ", ["b"], "active"),
        ]:
            db.execute(
                "INSERT INTO insights (taxonomy, condition, explanation, provenance, status, "
                "created) VALUES (?, 'c', ?, ?, ?, '2025-01-01')",
                (json.dumps(PATH), text, json.dumps(provenance), status),
            )
    with ExperienceLibrary(path) as library:
        stored = library.all(include_inactive=True)
        assert [(i.id, i.provenance, i.status) for i in stored] == [
            (1, ["a", "b"], "active"),
            (2, ["x"], "active"),
        ]
        assert [c.kind for c in library.changes()] == ["dedup"]
        assert library.add(_insight("lesson").model_copy(update={"condition": "c"})) == 1
