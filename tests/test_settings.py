"""The one settings object: defaults, environment variables, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRALITAS_TOP_K", "7")
    monkeypatch.setenv("NETRALITAS_INDEX_DIR", "/tmp/somewhere")
    monkeypatch.setenv("NETRALITAS_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("NETRALITAS_LLM_PROVIDER", "openai")
    s = Settings.from_env(retrieval="dense")
    assert s.top_k == 7 and s.index_dir == Path("/tmp/somewhere")
    assert s.llm_base_url == "http://127.0.0.1:8080/v1" and s.retrieval == "dense"
    assert s.llm_provider == "openai"


@pytest.mark.parametrize(("change", "said"), [
    ({"llm_provider": "gpt"}, "llm_provider"),
    ({"llm_provider": "openai"}, "needs llm_base_url"),
    ({"llm_base_url": "http://127.0.0.1:8080/v1"}, "set llm_provider"),
    ({"llm_provider": "ollama", "llm_timeout": "0"}, "llm_timeout must be positive"),
])
def test_an_llm_set_up_halfway_is_refused_with_what_to_set(change: dict[str, str],
                                                            said: str) -> None:
    """A base URL without a provider would be silently unused; a provider without its URL
    would fail at the first question."""
    with pytest.raises(ValueError, match=said):
        Settings().replace(**change)
    assert Settings().replace(llm_provider="ollama").llm_provider == "ollama"


@pytest.mark.parametrize("change", [{"retrieval": "magic"}, {"top_k": "lima"},
                                    {"embedding_dtype": "int4"}, {"colour": "red"},
                                    {"verdict_policy": "strict"}, {"auth": "nopassword"}])
def test_invalid_settings_are_refused_with_the_name(change: dict[str, str]) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        Settings().replace(**change)
    assert next(iter(change)) in str(info.value) or "retrieval" in str(info.value)


def test_chunking_settings_include_the_chunker_version() -> None:
    assert set(Settings().chunking) == {"chunk_size", "chunk_overlap", "chunker"}


def test_secrets_stay_out_of_the_settings_repr() -> None:
    shown = repr(Settings(llm_api_key="sk-geheim", auth="pelatih:rahasia"))
    assert "sk-geheim" not in shown and "rahasia" not in shown and "llm_model" in shown


def test_keywords_win_over_the_environment_and_a_copy_keeps_its_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRALITAS_TOP_K", "7")
    assert Settings(top_k="3").top_k == 3 and Settings().top_k == 7
    first = Settings.from_env()
    monkeypatch.setenv("NETRALITAS_TOP_K", "9")
    assert first.replace(retrieval="dense").top_k == 7  # not read again
    with pytest.raises(ValueError, match="frozen"):
        first.top_k = 2  # type: ignore[misc]
