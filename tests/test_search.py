"""Search per locale: diacritic-insensitive Vietnamese, Thai, Khmer and Burmese without spaces."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hub.content.search import Document, SearchIndex, normalize, terms


def _hrefs(client: TestClient, locale: str, query: str) -> str:
    response = client.get(f"/{locale}/search", params={"q": query})
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize(
    ("locale", "query"),
    [
        ("vi", "hộ chiếu"),
        ("vi", "ho chieu"),
        ("vi", "HO CHIEU"),
        ("th", "หนังสือเดินทาง"),
        ("my", "နိုင်ငံကူးလက်မှတ်"),
        ("en", "Passport"),
    ],
)
def test_passport_article_is_found(client: TestClient, locale: str, query: str) -> None:
    html = _hrefs(client, locale, query)
    assert f'href="/{locale}/articles/keep-your-passport/"' in html


def test_search_finds_service_names(client: TestClient) -> None:
    html = _hrefs(client, "en", "Bethune")
    assert 'href="/en/services/hk-bethune-house"' in html


def test_search_with_no_match_says_so(client: TestClient) -> None:
    html = _hrefs(client, "en", "zzqxj")
    assert "0 results" in html


def test_empty_and_overlong_queries_are_harmless(client: TestClient) -> None:
    assert client.get("/en/search").status_code == 200
    assert client.get("/en/search", params={"q": "x" * 5000}).status_code == 200


def _index(*bodies: str) -> SearchIndex:
    return SearchIndex(
        Document("article", f"a{i}", f"T{i}", "", ("", "", normalize(body)))
        for i, body in enumerate(bodies)
    )


def test_vietnamese_is_diacritic_insensitive() -> None:
    assert normalize("Tiền lương ĐÚNG hạn") == "tien luong dung han"
    index = _index("Bạn có quyền nhận tiền lương đúng hạn.", "Nghỉ ngơi")
    assert [h.key for h in index.search("tien luong")] == ["a0"]
    assert [h.key for h in index.search("tiền lương")] == ["a0"]


def test_words_inside_thai_khmer_and_burmese_runs_are_found() -> None:
    index = _index(
        "นายจ้างไม่มีสิทธิ์เก็บหนังสือเดินทางของคุณ",
        "និយោជកមិនមានសិទ្ធិរក្សាលិខិតឆ្លងដែនរបស់អ្នកទេ",
        "အလုပ်ရှင်သည်သင်၏နိုင်ငံကူးလက်မှတ်ကိုမသိမ်းရ",
    )
    assert [h.key for h in index.search("หนังสือเดินทาง")] == ["a0"]
    assert [h.key for h in index.search("លិខិតឆ្លងដែន")] == ["a1"]
    assert [h.key for h in index.search("နိုင်ငံကူးလက်မှတ်")] == ["a2"]


def test_spaced_scripts_match_at_word_starts_only() -> None:
    index = _index("a restaurant job", "take a rest day")
    assert sorted(h.key for h in index.search("rest")) == ["a0", "a1"]
    assert [h.key for h in index.search("restaurant")] == ["a0"]
    assert index.search("taurant") == []


def test_every_word_must_match_and_titles_rank_first() -> None:
    index = SearchIndex(
        [
            Document("article", "body", "Other", "", ("other", "", "passport fees")),
            Document("article", "title", "Passport", "", ("passport fees", "", "")),
            Document("article", "none", "Fees", "", ("fees", "", "")),
        ]
    )
    assert [h.key for h in index.search("passport fees")] == ["title", "body"]


def test_terms_are_distinct_and_normalized() -> None:
    assert terms("  Hộ  hộ CHIẾU ") == ["ho", "chieu"]
