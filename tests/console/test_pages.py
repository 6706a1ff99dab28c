"""Every console page renders for a logged-in operator in both languages, and the learner
inspector shows the delivery core's list, plan and "why not" answer for the learner."""

from __future__ import annotations

import html
import re

import pytest

from console_world import log_in
from recommender.serving.console.i18n import MESSAGES, choose_language
from serving_world import KEY

PAGES = ["/console", "/console/learners?q=d", "/console/learners/d1", "/console/equity",
         "/console/catalog", "/console/models", "/console/experiments"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_in_both_languages(console_client, lang) -> None:
    log_in(console_client)
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        answer = console_client.get(f"{path}{sep}lang={lang}")
        assert answer.status_code == 200, (path, answer.text[-2000:])
        assert answer.headers["cache-control"] == "no-store"
        assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in answer.text


def test_the_inspector_shows_the_list_and_answers_why_not(console_client) -> None:
    log_in(console_client)
    api = console_client.get("/v1/learners/d1/recommendations?k=10", headers=KEY).json()
    page = console_client.get("/console/learners/d1?lang=en&why_not=r32").text
    listed = re.findall(r"<td><code>(r\d\d)</code></td>",
                        page.split('id="delivery-list"')[1].split("</table>")[0])
    assert listed == [item["resource_id"] for item in api["items"]]
    answer = page.split('id="why-not-answer"')[1].split("</div>")[0]
    assert MESSAGES["why.closed"][0] in answer  # r32 closed in 2020
    far = console_client.get("/console/learners/d1?lang=en&why_not=r30").text
    assert "the learner&#39;s place" in far or "the learner's place" in far  # blended in R3


def test_language_comes_from_the_query_then_accept_language() -> None:
    assert choose_language("zh", "en") == "zh"
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language(None, "en-US,zh;q=0.5") == "en"
    assert choose_language("fr", "de") == "en"


def test_every_label_has_both_languages() -> None:
    for key, (english, chinese) in MESSAGES.items():
        assert english.strip() and chinese.strip(), key
        assert re.search(r"[\u4e00-\u9fff]", chinese) or key == "nav.language", key


def test_the_inspector_shows_the_reasons_the_learner_reads(console_client) -> None:
    """The delivery core words reasons in the learner's language (d1 reads Chinese): the
    inspector shows exactly the API's reasons, on the English page too."""
    log_in(console_client)
    api = console_client.get("/v1/learners/d1/recommendations?k=10", headers=KEY).json()
    for lang in ("zh", "en"):
        page = console_client.get(f"/console/learners/d1?lang={lang}").text
        table = page.split('id="delivery-list"')[1].split("</table>")[0]
        for item in api["items"]:
            assert html.escape(item["reason"], quote=False) in table, (lang, item["reason"])
    assert all(re.search(r"[\u4e00-\u9fff]", item["reason"]) for item in api["items"])


def test_the_catalog_page_counts_what_the_api_delivered_and_unmet_anonymous_interests(
        console_client) -> None:
    log_in(console_client)
    before = console_client.get("/console/catalog?lang=en").text
    assert "34 of 34 open resources were never recommended" in before  # r32, r33 are closed
    listed = console_client.get("/v1/learners/d1/recommendations?k=5", headers=KEY).json()
    assert len(listed["items"]) == 5
    piano = {"group": "retiree", "region": "R1", "languages": ["zh"], "interests": "钢琴演奏入门"}
    for _ in range(2):
        answer = console_client.post("/v1/recommendations/anonymous", headers=KEY, json=piano)
        assert answer.status_code == 200, answer.text
    page = console_client.get("/console/catalog?lang=en").text
    assert "29 of 34 open resources were never recommended" in page
    demand = page.split('id="demand"')[1].split("</table>")[0]
    row = demand.split("钢琴演奏入门")[0].rsplit("<tr>", 1)[1]
    assert re.findall(r'<td class="num">(\d+)</td>', row)[-1] == "2"  # unmet, counted twice
    assert "anonymous request" in demand


def test_pages_that_need_a_model_say_so_when_none_is_served(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from console_world import console_app

    app = console_app(tmp_path / "no-bundle-here", f"sqlite:///{tmp_path / 's.db'}")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        log_in(client)
        assert client.get("/console?lang=zh").status_code == 200
        for path in ("/console/learners/d1", "/console/equity", "/console/catalog"):
            answer = client.get(path + "?lang=zh")
            assert answer.status_code == 503 and 'id="unavailable"' in answer.text, path


def test_templates_hold_no_words_of_their_own() -> None:
    """Every word a template shows comes from the catalog (t/v) or the data: text between the
    tags, outside Jinja expressions, has no letters."""
    from pathlib import Path

    import recommender.serving.console as console

    for template in (Path(console.__file__).parent / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.S)
        text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S)
        text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
        words = re.findall(r"[A-Za-z\u4e00-\u9fff]{2,}", text)
        assert words == [], (template.name, words)
