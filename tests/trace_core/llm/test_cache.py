"""The SQLite reply cache: hits send nothing, keys separate what should differ, concurrency."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.servers.chat_server import ChatServer, Reply
from trace_core.llm import ReplyCache, ScriptedLLM
from trace_core.llm.base import RawReply, Usage
from trace_core.llm.openai_backend import OpenAIBackend
from trace_core.llm.retry import RetryPolicy

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "cache me"}]


def cached_llm(server: ChatServer, path: Path) -> OpenAIBackend:
    return OpenAIBackend(
        "m", base_url=server.url, cache=ReplyCache(path), retry=RetryPolicy(max_attempts=1)
    )


def test_cache_hit_makes_no_http_request(chat_server: ChatServer, tmp_path: Path) -> None:
    llm = cached_llm(chat_server, tmp_path / "c.sqlite")
    first = llm.complete(ASK)
    second = llm.complete(ASK)
    assert chat_server.count == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text
    assert (second.cost, second.attempts) == (0.0, 0)
    assert llm.cache is not None and (llm.cache.hits, llm.cache.misses) == (1, 1)


def test_cache_survives_a_new_backend_on_the_same_file(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    cached_llm(chat_server, tmp_path / "c.sqlite").complete(ASK)
    again = cached_llm(chat_server, tmp_path / "c.sqlite").complete(ASK)
    assert again.cached and chat_server.count == 1


def test_structured_reply_is_cached_and_reparsed(chat_server: ChatServer, tmp_path: Path) -> None:
    class Point(BaseModel):
        x: int

    chat_server.script(Reply.text('{"x": 5}'))
    llm = cached_llm(chat_server, tmp_path / "c.sqlite")
    first = llm.complete(ASK, response_format=Point)
    second = llm.complete(ASK, response_format=Point)
    assert second.parsed == first.parsed == Point(x=5)
    assert second.cached and chat_server.count == 1


@pytest.mark.parametrize(
    "change",
    [{"temperature": 0.9}, {"seed": 2}, {"rollout_id": "b"}, {"max_tokens": 5}],
)
def test_options_seed_and_rollout_id_are_part_of_the_key(
    chat_server: ChatServer, tmp_path: Path, change: dict[str, object]
) -> None:
    llm = cached_llm(chat_server, tmp_path / "c.sqlite")
    llm.complete(ASK, rollout_id="a", seed=1)
    llm.complete(ASK, **{"rollout_id": "a", "seed": 1, **change})
    assert chat_server.count == 2
    assert "rollout_id" not in chat_server.requests[1]


def test_timeout_and_stream_do_not_change_the_key(chat_server: ChatServer, tmp_path: Path) -> None:
    llm = cached_llm(chat_server, tmp_path / "c.sqlite")
    llm.complete(ASK)
    assert llm.complete(ASK, timeout=9.0, stream=True).cached
    assert chat_server.count == 1


def test_different_servers_do_not_share_entries(tmp_path: Path) -> None:
    with ChatServer() as one, ChatServer() as two:
        cached_llm(one, tmp_path / "c.sqlite").complete(ASK)
        cached_llm(two, tmp_path / "c.sqlite").complete(ASK)
        assert (one.count, two.count) == (1, 1)


def test_env_zero_disables_the_cache(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTOFORGE_CACHE", "0")
    llm = OpenAIBackend("m", base_url=chat_server.url)
    llm.complete(ASK)
    llm.complete(ASK)
    assert llm.cache is None and chat_server.count == 2


def test_default_location_follows_optoforge_cache_dir(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPTOFORGE_CACHE_DIR", str(tmp_path / "here"))
    llm = OpenAIBackend("m", base_url=chat_server.url)
    llm.complete(ASK)
    assert (tmp_path / "here" / "llm.sqlite").exists()


def test_per_call_cache_false_bypasses_it(chat_server: ChatServer, tmp_path: Path) -> None:
    llm = cached_llm(chat_server, tmp_path / "c.sqlite")
    llm.complete(ASK)
    assert not llm.complete(ASK, cache=False).cached
    assert chat_server.count == 2


def test_scripted_llm_can_use_a_cache(tmp_path: Path) -> None:
    llm = ScriptedLLM(["once"], cache=ReplyCache(tmp_path / "c.sqlite"))
    assert [llm.complete(ASK).text for _ in range(3)] == ["once"] * 3
    assert llm.remaining == 0


def test_threads_share_one_cache_file(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "c.sqlite")

    def write_then_read(i: int) -> str:
        cache.put(f"k{i}", RawReply(text=f"v{i}", usage=Usage(total_tokens=i)))
        got = cache.get(f"k{i}")
        return got.text if got else ""

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(write_then_read, range(64))) == [f"v{i}" for i in range(64)]
    assert len(cache) == 64


def _process_writer(path: str, worker: int) -> None:
    cache = ReplyCache(path)
    for i in range(40):
        cache.put(f"w{worker}-{i}", RawReply(text=f"{worker}:{i}"))
        cache.get(f"w{(worker + 1) % 3}-{i}")


def test_processes_write_the_same_file_concurrently(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(path, w)) for w in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    cache = ReplyCache(path)
    assert len(cache) == 120
    hit = cache.get("w2-39")
    assert hit is not None and hit.text == "2:39"
