"""Bad settings are the library's named error, whatever their source; secrets never echoed."""

from __future__ import annotations

import pytest

from recommender.errors import InvalidParameterError
from recommender.settings import load_settings


def test_an_explicit_bad_value_names_the_setting_and_its_variable() -> None:
    with pytest.raises(InvalidParameterError, match=r"port \(RECOMMENDER_PORT\)'=70000") as info:
        load_settings(port=70000)
    assert "less than or equal to 65535" in str(info.value)


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOMMENDER_WORKERS", "many")
    with pytest.raises(InvalidParameterError, match=r"workers \(RECOMMENDER_WORKERS\)'='many'"):
        load_settings()


def test_a_secret_setting_is_never_shown() -> None:
    with pytest.raises(InvalidParameterError) as info:
        load_settings(api_keys=[["s3cret-key"]])
    assert "api_keys (RECOMMENDER_API_KEYS)" in str(info.value)
    assert "s3cret" not in str(info.value) and "(not shown)" in str(info.value)


def test_good_values_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOMMENDER_API_KEYS", "a, b")
    settings = load_settings(port=9000)
    assert settings.port == 9000
    assert [key.get_secret_value() for key in settings.api_keys] == ["a", "b"]


def test_consumed_event_types_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().consumed_event_types is None  # default: each bundle's own rule
    monkeypatch.setenv("RECOMMENDER_CONSUMED_EVENT_TYPES", "complete, dismiss,rate")
    assert load_settings().consumed_event_types == ("complete", "dismiss", "rate")
    monkeypatch.setenv("RECOMMENDER_CONSUMED_EVENT_TYPES", "complete,finish")
    with pytest.raises(InvalidParameterError, match=r"RECOMMENDER_CONSUMED_EVENT_TYPES.*finish"):
        load_settings()
