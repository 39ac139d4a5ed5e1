"""Search per locale: her corridor first, grouped and paged; diacritic-insensitive Vietnamese,
Thai, Khmer and Burmese without spaces; invisible characters, Unicode forms and Zawgyi ignored."""

from __future__ import annotations

import re
import unicodedata

import pytest
from starlette.testclient import TestClient

from hub.content.search import Document, SearchIndex, normalize, terms
from hub.content.text import query_text
from tests.conftest import set_corridor

# The sample pair of paraencoder's own tests (tests/test_convert.py): "I love Myanmar" in Zawgyi
# and in Unicode; and the Zawgyi spelling of "Myanmar" from its README.
ZAWGYI_SENTENCE = "ျမန္မာျပည္ကိုခ်စ္တယ္"
UNICODE_SENTENCE = "မြန်မာပြည်ကိုချစ်တယ်"
ZAWGYI_MYANMAR = "ျမန္မာ"
UNICODE_MYANMAR = "မြန်မာ"
# The Unicode greeting paraencoder's tests say must never be changed.
UNICODE_GREETING = "မင်္ဂလာပါ"
PH_CONSULATE = "/en/services/ph-consulate-hong-kong"  # content: country HK, serves [PH]
ID_CONSULATE = "/en/services/hk-consulate-indonesia"  # content: country HK, serves [ID]


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


def _links(html: str) -> list[str]:
    return re.findall(r'<a class="hit" href="([^"]+)"', html)


def _search(client: TestClient, locale: str, **params: str) -> tuple[int, str]:
    response = client.get(f"/{locale}/search", params=params)
    return response.status_code, response.text


@pytest.mark.parametrize("query", ["consulate", "passport"])
def test_her_consulate_comes_first_and_other_corridors_are_left_out(
    client: TestClient, query: str
) -> None:
    set_corridor(client, "PH", "HK")
    status, html = _search(client, "en", q=query)
    assert status == 200
    links = _links(html)
    assert links[0] == PH_CONSULATE
    for page in range(2, 10):  # nothing of another corridor on any page
        status, html = _search(client, "en", q=query, page=str(page))
        if status == 404:
            break
        links += _links(html)
    assert ID_CONSULATE not in links
    assert "/en/services/sg-embassy-philippines" not in links  # hers, but not where she works
    assert 'href="/en/search?all=1&amp;q=' + query + '"' in html  # the plain link lifting it


def test_all_countries_lifts_the_filter_and_keeps_her_corridor_first(client: TestClient) -> None:
    set_corridor(client, "PH", "HK")
    _, mine = _search(client, "en", q="consulate")
    everywhere: list[str] = []
    for page in range(1, 10):
        status, html = _search(client, "en", q="consulate", all="1", page=str(page))
        if status == 404:
            break
        everywhere += _links(html)
    assert everywhere[0] == PH_CONSULATE
    assert ID_CONSULATE in everywhere
    assert everywhere.index(PH_CONSULATE) < everywhere.index(ID_CONSULATE)
    count = int(re.search(r"(\d+) results", mine).group(1))  # type: ignore[union-attr]
    assert set(_links(mine)) <= set(everywhere) and len(everywhere) > count


def test_without_a_corridor_every_country_is_found(client: TestClient) -> None:
    links = []
    for page in ("1", "2", "3"):
        links += _links(_search(client, "en", q="consulate", page=page)[1])
    assert PH_CONSULATE in links and ID_CONSULATE in links


def test_results_come_ten_a_page_with_plain_links_between_pages(client: TestClient) -> None:
    status, first = _search(client, "en", q="passport")
    assert status == 200
    total = int(re.search(r"(\d+) results", first).group(1))  # type: ignore[union-attr]
    assert total > 20  # the issue: 49 results for "passport"
    pages = -(-total // 10)
    seen: list[str] = []
    for number in range(1, pages + 1):
        status, html = _search(client, "en", q="passport", page=str(number))
        links = _links(html)
        assert status == 200 and len(links) == (10 if number < pages else total - 10 * (pages - 1))
        assert f"Page {number} of {pages}" in html
        assert ('rel="prev"' in html and "hidden>Previous" not in html) == (number > 1)
        if number < pages:
            assert f'href="/en/search?page={number + 1}&amp;q=passport"' in html
        seen += links
    assert len(seen) == len(set(seen)) == total


def test_on_each_page_services_come_before_articles(client: TestClient) -> None:
    set_corridor(client, "PH", "HK")
    _, html = _search(client, "en", q="passport")
    services, articles = html.index('id="search-services"'), html.index('id="search-articles"')
    assert services < html.index(PH_CONSULATE) < articles < html.index("/en/articles/")
    assert "<h2>Help services</h2>" in html and "<h2>Articles</h2>" in html


@pytest.mark.parametrize(
    ("page", "status"),
    [("abc", 400), ("-1", 400), ("0", 400), ("1.5", 400), ("99999", 404), ("9" * 40, 400)],
)
def test_a_page_that_does_not_exist_says_so(client: TestClient, page: str, status: int) -> None:
    code, html = _search(client, "en", q="passport", page=page)
    assert code == status
    assert _links(html) == []
    assert "This page of results does not exist." in html
    assert 'href="/en/search?q=passport">Go to the first page' in html
    assert "49 results" in html or re.search(r"\d+ results", html)


def test_empty_page_parameter_is_the_first_page(client: TestClient) -> None:
    assert _links(_search(client, "en", q="passport", page="")[1]) == _links(
        _search(client, "en", q="passport")[1]
    )


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\ufeff"])
def test_zero_width_characters_are_ignored_in_queries(client: TestClient, invisible: str) -> None:
    plain = _links(_search(client, "th", q="หนังสือเดินทาง")[1])
    assert plain
    assert _links(_search(client, "th", q=f"{invisible}หนังสือ{invisible}เดินทาง")[1]) == plain
    assert _links(_search(client, "en", q=f"pass{invisible}port")[1]) == _links(
        _search(client, "en", q="passport")[1]
    )


def test_zero_width_characters_are_ignored_in_indexed_text() -> None:
    index = _index("pass\u200bport rules", "นายจ้าง\u200cเก็บหนังสือ\u200dเดินทาง\ufeff")
    assert [h.key for h in index.search("passport")] == ["a0"]
    assert [h.key for h in index.search("หนังสือเดินทาง")] == ["a1"]


def test_unicode_forms_compare_equal(client: TestClient) -> None:
    composed = _links(_search(client, "vi", q=unicodedata.normalize("NFC", "hộ chiếu"))[1])
    decomposed = _links(_search(client, "vi", q=unicodedata.normalize("NFD", "hộ chiếu"))[1])
    assert composed and composed == decomposed
    index = _index(unicodedata.normalize("NFD", "Hộ chiếu của bạn"))
    assert [h.key for h in index.search(unicodedata.normalize("NFC", "hộ chiếu"))] == ["a0"]


def test_zawgyi_queries_are_read_as_unicode() -> None:
    assert query_text(ZAWGYI_SENTENCE) == UNICODE_SENTENCE
    assert query_text(ZAWGYI_MYANMAR) == UNICODE_MYANMAR
    assert terms(ZAWGYI_SENTENCE) == terms(UNICODE_SENTENCE)


@pytest.mark.parametrize(
    "unicode", [UNICODE_GREETING, UNICODE_MYANMAR, UNICODE_SENTENCE, "နိုင်ငံကူးလက်မှတ်"]
)
def test_unicode_burmese_queries_are_not_converted(unicode: str) -> None:
    assert query_text(unicode) == unicode


def test_a_zawgyi_query_finds_what_the_unicode_one_finds(client: TestClient) -> None:
    unicode = _links(_search(client, "my", q=UNICODE_MYANMAR)[1])
    assert unicode
    assert _links(_search(client, "my", q=ZAWGYI_MYANMAR)[1]) == unicode
    assert _links(_search(client, "my", q=f"\u200b{ZAWGYI_MYANMAR}\u200b")[1]) == unicode


@pytest.mark.parametrize(("locale", "typed"), [("my", "၁၃၄၈"), ("th", "๑๓๔๘"), ("km", "១៣៤៨")])
def test_digits_of_her_script_find_what_0_to_9_find(
    client: TestClient, locale: str, typed: str
) -> None:
    ascii_digits = _links(_search(client, locale, q="1348")[1])
    assert ascii_digits
    assert _links(_search(client, locale, q=typed)[1]) == ascii_digits


def test_the_offline_index_carries_corridors_and_zawgyi_only_where_needed(
    client: TestClient,
) -> None:
    burmese = client.get("/api/search/my.json").json()
    english = client.get("/api/search/en.json").json()
    assert "zawgyi" in burmese and "zawgyi" not in english
    assert burmese["zawgyi"]["threshold"] == 0.95
    docs = {d[1]: d for d in english["docs"]}
    assert docs["ph-consulate-hong-kong"][7] == ["HK", "PH"]
    assert docs["keep-your-passport"][0] == "article"
