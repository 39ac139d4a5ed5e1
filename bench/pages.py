"""Reader paths against a bare Starlette floor over loopback, and the weight of a first visit.

Starts the hub as `hub serve` runs it and, beside it, a bare Starlette app under the same uvicorn
settings and logging; for each case the bare app answers exactly the bytes the hub answered.
Load comes over real sockets (raw HTTP/1.1, a few keep-alive connections), the two servers
measured alternately in rounds; the ratio hub / bare (median of rounds) is held against its
budget in docs/benchmarks.md. Then the first visit is fetched as a phone would and weighed
(headers included, compressed), and every public page's first round trip is held against 14 KB.
Settings come from the environment (HUB_CONTENT_DIR may point at another tree).
Run: .venv/bin/python bench/pages.py [--quick] [--case KEY ...] [--no-weight | --weight-only]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PHONE_HEADERS,
    ROOT,
    LoadResult,
    Reply,
    Server,
    bare_server,
    canned_server,
    fetch,
    hub_server,
    load,
    load_answers,
    median,
    request_bytes,
    same_answer,
)

from hub.settings import Settings

READER_BUDGET = 0.6  # design reference, Budgets: every reader path
SEARCH_BUDGET = 0.3  # design reference, Budgets: search
ROUND_TRIP_BUDGET = 14_000  # first round trip of a page, HTML + headers (14 KB, decimal)
FIRST_VISIT_BUDGET = 25_000  # the whole first visit, compressed, headers included (25 KB)
ORIGIN, DESTINATION = "PH", "HK"
REPEATED_QUERY = {"en": "passport", "th": "หนังสือเดินทาง"}
# Scripts written without spaces between words: a query is a run of these letters.
UNSPACED = {
    "th": "\u0e00-\u0e7f",
    "lo": "\u0e80-\u0eff",
    "km": "\u1780-\u17ff",
    "my": "\u1000-\u109f",
}
CRAWL_LIMIT = 800  # pages per locale
PREFERRED_ARTICLE = "keep-your-passport"
INSTALL_ICON = "icon (install)"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Case:
    """One reader path: the targets sent in turn, with the same headers, and its budget."""

    key: str
    label: str
    budget: float
    targets: Sequence[str]
    headers: Mapping[str, str]
    fresh: bool = False  # every request a target the hub has not been sent before
    follow: bool = True  # measure where a redirect of the first target leads


@dataclass
class Outcome:
    """The rounds of one case and what was checked along the way."""

    case: Case
    target: str = ""  # the (first) target measured
    size: int = 0  # wire bytes of the (first) answer
    status: int = 0
    hub: list[LoadResult] = field(default_factory=list)
    bare: list[LoadResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repeated: int = 0  # fresh cases: requests that had to reuse a query

    @property
    def ratios(self) -> list[float]:
        """hub / bare of each round (a hub round and the bare round after it)."""
        return [h.rate / b.rate for h, b in zip(self.hub, self.bare, strict=True) if b.rate]

    @property
    def ratio(self) -> float:
        """Median of the rounds' ratios."""
        return median(self.ratios) if self.ratios else 0.0

    @property
    def cpu_ratio(self) -> float | None:
        """hub / bare in requests per CPU-second of the server: steadier on a busy machine."""
        hub_cpu = sum(r.server_cpu or 0.0 for r in self.hub)
        bare_cpu = sum(r.server_cpu or 0.0 for r in self.bare)
        if not hub_cpu or not bare_cpu:
            return None
        hub = sum(r.requests for r in self.hub) / hub_cpu
        return hub / (sum(r.requests for r in self.bare) / bare_cpu)

    @property
    def met(self) -> bool:
        """Budget met, and every check passed."""
        return not self.problems and self.ratio >= self.case.budget


def phone(**extra: str) -> dict[str, str]:
    """A phone's request headers, plus `extra` (underscores in names become dashes)."""
    headers = dict(PHONE_HEADERS)
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


def corridor_cookie(locale: str) -> str:
    """The cookies of a reader who chose her locale and corridor."""
    return f"hub_locale={locale}; hub_from={ORIGIN}; hub_to={DESTINATION}"


# --- query words, from the content tree ------------------------------------------------------


def article_text(content_dir: Path, locale: str) -> str:
    """Every article file of a locale, concatenated (front matter included: titles, summaries)."""
    files = sorted((content_dir / "articles").glob(f"*/{locale}.md"))
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def query_words(content_dir: Path, locale: str) -> list[str]:
    """Distinct queries a reader could type, all found in the locale's articles, shuffled.

    Spaced scripts: words, then their prefixes, then pairs of neighbouring words.
    Unspaced scripts: short runs between spaces, then substrings of 3 to 6 code points that do
    not cut a combining mark off its letter.
    """
    text = article_text(content_dir, locale).lower()
    shuffle = random.Random(f"bench-{locale}").shuffle
    tiers: list[list[str]] = []
    if locale in UNSPACED:
        runs = re.findall(f"[{UNSPACED[locale]}]+", text)
        tiers.append(sorted({run for run in runs if 2 <= len(run) <= 12}))
        pieces: set[str] = set()
        for run in runs:
            for start, char in enumerate(run):
                if unicodedata.category(char) == "Mn":
                    continue
                for length in range(3, 7):
                    end = start + length
                    if end <= len(run) and (
                        end == len(run) or unicodedata.category(run[end]) != "Mn"
                    ):
                        pieces.add(run[start:end])
        tiers.append(sorted(pieces))
    else:
        words = re.findall(r"[^\W\d_]{3,}", text)
        tiers.append(sorted(set(words)))
        tiers.append(sorted({w[:n] for w in set(words) for n in range(3, len(w))}))
        tiers.append(sorted({f"{a} {b}" for a, b in itertools.pairwise(words)}))
    found: list[str] = []
    seen: set[str] = set()
    for tier in tiers:
        fresh = [word for word in tier if word not in seen]
        shuffle(fresh)
        found += fresh
        seen.update(fresh)
    return found


def repeated_query(content_dir: Path, locale: str) -> str:
    """The one query sent again and again: a common word of the locale (passport, if present)."""
    text = article_text(content_dir, locale).lower()
    preferred = REPEATED_QUERY.get(locale)
    if preferred and preferred in text:
        return preferred
    pattern = f"[{UNSPACED[locale]}]{{2,12}}" if locale in UNSPACED else r"[^\W\d_]{4,}"
    words: list[str] = re.findall(pattern, text)
    if not words:  # a tree without this locale's articles: any query will do
        return preferred or "help"
    return Counter(words).most_common(1)[0][0]


def search_target(locale: str, query: str) -> str:
    """The search page of a query."""
    return f"/{locale}/search?q={quote(query, safe='')}"


# --- the cases -------------------------------------------------------------------------------


class LinkParser(HTMLParser):
    """Collects what a page makes a browser fetch, and the pages it links to."""

    def __init__(self) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.icons: list[str] = []
        self.manifests: list[str] = []
        self.workers: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        rel = set(values.get("rel", "").lower().split())
        if tag == "html" and values.get("data-service-worker"):
            self.workers.append(values["data-service-worker"])
        elif tag == "link" and "stylesheet" in rel:
            self.stylesheets.append(values["href"])
        elif tag == "link" and rel & {"icon", "apple-touch-icon"}:
            self.icons.append(values["href"])
        elif tag == "link" and "manifest" in rel:
            self.manifests.append(values["href"])
        elif tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])


def parse_links(reply: Reply) -> LinkParser:
    """The links of an HTML reply."""
    parser = LinkParser()
    parser.feed(reply.decoded().decode("utf-8", errors="replace"))
    return parser


def pick_article(content_dir: Path) -> str:
    """The article of the cached-article case: keep-your-passport, else the first one."""
    slugs = sorted(p.parent.name for p in (content_dir / "articles").glob("*/en.md"))
    return PREFERRED_ARTICLE if PREFERRED_ARTICLE in slugs else slugs[0]


def build_cases(content_dir: Path, stylesheet: str) -> list[Case]:
    """The reader paths, in the order they are measured."""
    reader = phone(cookie=corridor_cookie("en"))
    thai = phone(cookie=corridor_cookie("th"))
    newcomer = phone(accept_language="en-US,en;q=0.9")
    article = pick_article(content_dir)
    en_words = query_words(content_dir, "en") or [repeated_query(content_dir, "en")]
    th_words = query_words(content_dir, "th") or [repeated_query(content_dir, "th")]
    return [
        Case("article", "cached article", READER_BUDGET, [f"/en/articles/{article}"], reader),
        Case("first-visit", "first visit /en/, no cookie", READER_BUDGET, ["/en/"], newcomer),
        Case("root", "first request / (redirect)", READER_BUDGET, ["/"], newcomer, follow=False),
        Case("help", "help with corridor", READER_BUDGET, ["/en/help"], reader),
        Case(
            "search-en",
            "search en, same query",
            SEARCH_BUDGET,
            [search_target("en", repeated_query(content_dir, "en"))],
            reader,
        ),
        Case(
            "search-en-new",
            "search en, new query each",
            SEARCH_BUDGET,
            [search_target("en", word) for word in en_words],
            reader,
            fresh=True,
        ),
        Case(
            "search-th",
            "search th, same query",
            SEARCH_BUDGET,
            [search_target("th", repeated_query(content_dir, "th"))],
            thai,
        ),
        Case(
            "search-th-new",
            "search th, new query each",
            SEARCH_BUDGET,
            [search_target("th", word) for word in th_words],
            thai,
            fresh=True,
        ),
        Case("sw", "/sw.js", READER_BUDGET, ["/sw.js?locale=en"], phone(service_worker="script")),
        Case("css", "static CSS", READER_BUDGET, [stylesheet], phone(accept="text/css,*/*;q=0.1")),
        Case(
            "pack",
            "offline pack",
            READER_BUDGET,
            [f"/api/packs/en.json?from={ORIGIN}&to={DESTINATION}"],
            reader,
        ),
        Case(
            "manifest",
            "manifest",
            READER_BUDGET,
            ["/manifest.webmanifest?lang=en"],
            phone(accept="application/manifest+json,*/*"),
        ),
    ]


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Plan:
    """How long and how hard to measure."""

    rounds: int
    seconds: float
    warmup: float
    connections: int


class Bench:
    """The two servers, and a count of the requests each answered (to check their logs)."""

    def __init__(self, hub: Server, bare: Server, plan: Plan) -> None:
        self.hub = hub
        self.bare = bare
        self.plan = plan
        self.sent: Counter[str] = Counter()

    async def fetch(self, server: Server, target: str, headers: Mapping[str, str]) -> Reply:
        """One request, counted."""
        self.sent[server.name] += 1
        return await fetch(server.port, target, headers)

    async def run(
        self, server: Server, requests: Sequence[bytes], seconds: float, **options: object
    ) -> LoadResult:
        """One timed run, counted."""
        result = await load(
            server.port,
            requests,
            seconds,
            connections=self.plan.connections,
            server_pid=server.pid,
            **options,  # type: ignore[arg-type]
        )
        self.sent[server.name] += result.requests
        return result

    async def measure(self, case: Case) -> Outcome:
        """Alternate hub and bare rounds on one case."""
        outcome = Outcome(case)
        if case.fresh:
            await self._measure_fresh(case, outcome)
        else:
            await self._measure_fixed(case, outcome)
        for name, results in (("hub", outcome.hub), ("bare", outcome.bare)):
            errors = sum(r.errors for r in results)
            if errors:
                outcome.problems.append(f"{name}: {errors} connections closed mid-request")
        return outcome

    async def _measure_fixed(self, case: Case, outcome: Outcome) -> None:
        target = case.targets[0]
        reply = await self.fetch(self.hub, target, case.headers)
        for _ in range(MAX_REDIRECTS):
            # URLs change (a trailing-slash policy); measure the page, not a redirect to it.
            location = redirect_target(target, reply)
            if not case.follow or location is None:
                break
            target = location
            reply = await self.fetch(self.hub, target, case.headers)
        outcome.target, outcome.size, outcome.status = target, reply.wire, reply.status
        if reply.status >= 500:
            outcome.problems.append(f"the hub answered {reply.status}")
        await load_answers(self.bare.port, {target: reply})
        if not same_answer(reply, await self.fetch(self.bare, target, case.headers)):
            outcome.problems.append("the bare app's answer differs from the hub's")
        hub_requests = [request_bytes(target, self.hub.port, case.headers)]
        bare_requests = [request_bytes(target, self.bare.port, case.headers)]
        await self.run(self.hub, hub_requests, self.plan.warmup)
        await self.run(self.bare, bare_requests, self.plan.warmup)
        for _ in range(self.plan.rounds):
            outcome.hub.append(await self.run(self.hub, hub_requests, self.plan.seconds))
            outcome.bare.append(await self.run(self.bare, bare_requests, self.plan.seconds))
        for name, results in (("hub", outcome.hub), ("bare", outcome.bare)):
            statuses = sum((r.statuses for r in results), Counter[int]())
            if set(statuses) - {reply.status}:
                outcome.problems.append(f"{name} statuses {dict(statuses)}, not {reply.status}")

    async def _measure_fresh(self, case: Case, outcome: Outcome) -> None:
        """Each hub round sends queries never sent before; the bare round replays its answers."""
        hub_requests = [request_bytes(t, self.hub.port, case.headers) for t in case.targets]
        bare_requests = [request_bytes(t, self.bare.port, case.headers) for t in case.targets]
        total = len(case.targets)
        cursor = 0
        for number in range(self.plan.rounds + 1):
            seconds = self.plan.warmup if number == 0 else self.plan.seconds
            hub = await self.run(self.hub, hub_requests, seconds, start=cursor, record=True)
            answers = {
                case.targets[index % total]: Reply.parse(raw) for index, raw in hub.recorded.items()
            }
            outcome.repeated += max(0, hub.next_index - max(cursor, total))
            await load_answers(self.bare.port, answers)
            first = next(iter(answers))
            replayed = await self.fetch(self.bare, first, case.headers)
            if not same_answer(answers[first], replayed):
                outcome.problems.append("the bare app's answer differs from the hub's")
            if any(reply.status >= 500 for reply in answers.values()):
                outcome.problems.append("the hub answered 5xx")
            sequence = [bare_requests[i % total] for i in sorted(hub.recorded)]
            bare = await self.run(self.bare, sequence, seconds)
            if number == 0:
                outcome.target = first
                outcome.size = answers[first].wire
                outcome.status = answers[first].status
            else:
                outcome.hub.append(hub)
                outcome.bare.append(bare)
            cursor = hub.next_index

    async def ceiling(self, size: int, env: Mapping[str, str], log: Path) -> float:
        """Requests/s of the load client against a server that does nothing but answer."""
        canned = canned_server(env, log, size)
        canned.start()
        try:
            await canned.ready()
            request = [request_bytes("/", canned.port, phone())]
            await load(canned.port, request, self.plan.warmup, connections=self.plan.connections)
            rates = [
                (await load(canned.port, request, self.plan.seconds, connections=4)).rate
                for _ in range(max(1, self.plan.rounds // 2))
            ]
        finally:
            canned.stop()
        return median(rates)


# --- the weight of a first visit -------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One request of a first visit."""

    what: str
    target: str
    reply: Reply


def redirect_target(target: str, reply: Reply) -> str | None:
    """Path and query a redirect points to (relative to `target`), or None if not a redirect."""
    location = reply.header("location")
    if not 300 <= reply.status < 400 or not location:
        return None
    parts = urlsplit(urljoin(target, location))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def cookies_from(reply: Reply) -> dict[str, str]:
    """name -> value of every cookie a reply sets."""
    found = {}
    for name, value in reply.headers:
        if name == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            found[key.strip()] = val.strip()
    return found


def install_icon(manifest: Any) -> str | None:
    """The icon Chrome on Android fetches to check the app is installable.

    It prefers a maskable icon; otherwise the smallest of at least 144 px.
    """
    icons = [icon for icon in manifest.get("icons") or [] if isinstance(icon, dict)]
    maskable = [i for i in icons if "maskable" in str(i.get("purpose", ""))]
    if maskable:
        return str(maskable[0]["src"])

    def width(icon: dict[str, object]) -> int:
        sizes = str(icon.get("sizes", "0x0")).split()[0]
        return int(sizes.split("x")[0]) if sizes != "any" else 10_000

    usable = sorted((i for i in icons if width(i) >= 144), key=width)
    return str(usable[0]["src"]) if usable else None


async def first_visit(bench: Bench, locale: str) -> list[Fetched]:
    """Every request a phone makes on a first visit to `/` with her language set."""
    headers = phone(accept_language=locale)
    jar: dict[str, str] = {}

    def with_cookies(**extra: str) -> dict[str, str]:
        values = dict(headers, **{k.replace("_", "-"): v for k, v in extra.items()})
        if jar:
            values["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        return values

    fetched: list[Fetched] = []
    target = "/"
    for _ in range(MAX_REDIRECTS):
        page = await bench.fetch(bench.hub, target, with_cookies())
        jar.update(cookies_from(page))
        location = redirect_target(target, page)
        fetched.append(Fetched("HTML" if location is None else "redirect", target, page))
        if location is None:
            break
        target = location
    links = parse_links(page)
    wanted: list[tuple[str, str, dict[str, str]]] = []
    wanted += [("CSS", url, with_cookies(accept="text/css,*/*;q=0.1")) for url in links.stylesheets]
    wanted += [("JS", url, with_cookies(accept="*/*")) for url in links.scripts]
    wanted += [("icon", url, with_cookies(accept="image/*")) for url in links.icons]
    manifest_headers = with_cookies(accept="application/manifest+json,*/*")
    wanted += [("manifest", url, manifest_headers) for url in links.manifests]
    wanted += [("worker", url, with_cookies(service_worker="script")) for url in links.workers]
    seen = {target}
    for what, url, request_headers in wanted:
        url = urljoin(target, url)
        if url in seen:
            continue
        seen.add(url)
        reply = await bench.fetch(bench.hub, url, request_headers)
        fetched.append(Fetched(what, url, reply))
        if what == "manifest" and reply.status == 200:
            icon = install_icon(json.loads(reply.decoded()))
            if icon and urljoin(url, icon) not in seen:
                wanted.append((INSTALL_ICON, icon, with_cookies(accept="image/*")))
    return fetched


async def crawl(bench: Bench, content_dir: Path, locale: str) -> list[tuple[str, Reply]]:
    """Every HTML page of a locale a reader with a corridor can reach, with its reply.

    Starts from the main pages, every article and every directory entry of the content tree,
    and follows links within the locale.
    """
    headers = phone(cookie=corridor_cookie(locale), accept_language=locale)
    prefix = f"/{locale}/"
    seeds = [prefix + page for page in ("", "help", "search", "safety", "offline", "unavailable")]
    seeds.append(search_target(locale, repeated_query(content_dir, locale)))
    folders = (p for p in (content_dir / "articles").iterdir() if p.is_dir())
    seeds += [f"{prefix}articles/{folder.name}" for folder in folders]
    seeds += [f"{prefix}services/{p.stem}" for p in (content_dir / "services").glob("*.yml")]
    queue = deque(dict.fromkeys(seeds))
    seen = set(queue)
    pages: list[tuple[str, Reply]] = []
    while queue and len(seen) <= CRAWL_LIMIT:
        batch = [queue.popleft() for _ in range(min(4, len(queue)))]
        replies = await asyncio.gather(*(bench.fetch(bench.hub, t, headers) for t in batch))
        for target, reply in zip(batch, replies, strict=True):
            location = redirect_target(target, reply)
            if location and location.startswith(prefix) and location not in seen:
                seen.add(location)
                queue.append(location)
            if reply.status != 200 or "text/html" not in (reply.header("content-type") or ""):
                continue
            pages.append((target, reply))
            for href in parse_links(reply).links:
                parts = urlsplit(urljoin(target, href))
                if parts.scheme or parts.netloc or not parts.path.startswith(prefix):
                    continue
                link = parts.path + (f"?{parts.query}" if parts.query else "")
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    return pages


# --- output ----------------------------------------------------------------------------------


def commit() -> str:
    """The commit measured, with '+changes' when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" +uncommitted changes" if dirty else "")


def percent(cpu: float | None, seconds: float) -> str:
    """CPU seconds over wall seconds, as % of one core."""
    return f"{100 * cpu / seconds:.0f}%" if cpu is not None and seconds else "n/a"


def describe(outcome: Outcome) -> str:
    """The target of a case, or for new queries the first one and how many were sent."""
    target = unquote(outcome.target)
    if not outcome.case.fresh:
        return target
    sent = sum(r.requests for r in outcome.hub)
    return f"{target} and {sent - 1:,} other queries"


def print_speed(outcomes: list[Outcome], plan: Plan) -> None:
    """The table of ratios, then what was checked."""
    print(
        f"Speed over loopback: {plan.connections} keep-alive connections, {plan.rounds} rounds "
        f"of {plan.seconds:g} s per server, hub and bare alternating; medians"
    )
    print(f"{'case':<30}{'hub req/s':>10}{'bare req/s':>11}{'ratio':>7}  {'budget':<8}met?")
    for o in outcomes:
        hub = median([r.rate for r in o.hub])
        bare = median([r.rate for r in o.bare])
        verdict = "met" if o.met else "not met"
        print(
            f"{o.case.label:<30}{hub:>10.0f}{bare:>11.0f}{o.ratio:>7.2f}  "
            f">= {o.case.budget:<5g}{verdict}"
        )
    print()
    print(
        "Per case: answer, ratio range over rounds, ratio per server CPU-second, "
        "CPU used (% of one core)"
    )
    print(
        f"{'case':<30}{'status':>6}{'bytes':>8}  {'ratios':<11}{'per CPU':>7}"
        f"{'hub':>6}{'bare':>6}{'client':>7}  target"
    )
    for o in outcomes:
        hub_time = sum(r.seconds for r in o.hub)
        bare_time = sum(r.seconds for r in o.bare)
        hub_cpu = sum(r.server_cpu or 0.0 for r in o.hub) if o.hub else None
        bare_cpu = sum(r.server_cpu or 0.0 for r in o.bare) if o.bare else None
        client = sum(r.client_cpu for r in o.hub + o.bare)
        ratios = f"{min(o.ratios):.2f}-{max(o.ratios):.2f}" if o.ratios else "-"
        cpu_ratio = f"{o.cpu_ratio:.2f}" if o.cpu_ratio is not None else "n/a"
        print(
            f"{o.case.label:<30}{o.status:>6}{o.size:>8}  {ratios:<11}{cpu_ratio:>7}"
            f"{percent(hub_cpu, hub_time):>6}{percent(bare_cpu, bare_time):>6}"
            f"{percent(client, hub_time + bare_time):>7}  {describe(o)}"
        )
        for problem in o.problems:
            print(f"  ! {problem}")
        if o.repeated:
            print(f"  ! {o.repeated} requests reused a query: the word list ran out")


def print_first_visit(visits: dict[str, list[Fetched]]) -> bool:
    """The first visit of the first locale in detail, then each locale's total; within budget?"""
    print()
    print(
        f"First visit as a phone makes it (Accept-Encoding: gzip, deflate, br), bytes on the "
        f"wire with headers (budget {FIRST_VISIT_BUDGET:,} B)"
    )
    locale, fetched = next(iter(visits.items()))
    first = f"request ({locale})"
    print(f"{first:<16}{'status':>6}{'headers':>8}{'body':>7}{'total':>7}  url")
    for item in fetched:
        reply = item.reply
        print(
            f"{item.what:<16}{reply.status:>6}{reply.head:>8}{reply.wire - reply.head:>7}"
            f"{reply.wire:>7}  {item.target}"
        )
    print(f"{'locale':<8}{'requests':>9}{'total':>8}{'of which install icon':>23}  within")
    ok = True
    for locale, fetched in visits.items():
        total = sum(item.reply.wire for item in fetched)
        install = sum(item.reply.wire for item in fetched if item.what == INSTALL_ICON)
        within = total <= FIRST_VISIT_BUDGET
        ok &= within
        print(f"{locale:<8}{len(fetched):>9}{total:>8}{install:>23}  {'yes' if within else 'NO'}")
    return ok


def print_round_trips(crawled: dict[str, list[tuple[str, Reply]]]) -> bool:
    """Each locale's largest page (HTML + headers); every page within 14 KB?"""
    print()
    print(
        f"First round trip of every page (HTML + headers, gzip, corridor {ORIGIN} -> "
        f"{DESTINATION}; budget {ROUND_TRIP_BUDGET:,} B)"
    )
    print(f"{'locale':<8}{'pages':>6}{'over':>6}{'largest':>9}  page")
    ok = True
    for locale, pages in crawled.items():
        if not pages:
            print(f"{locale:<8}{0:>6}")
            ok = False
            continue
        target, reply = max(pages, key=lambda item: item[1].wire)
        over = sum(1 for _, r in pages if r.wire > ROUND_TRIP_BUDGET)
        ok &= over == 0
        print(f"{locale:<8}{len(pages):>6}{over:>6}{reply.wire:>9}  {target}")
    return ok


# --- main ------------------------------------------------------------------------------------


def machine() -> str:
    """CPU model, cores and load average: what the figures were measured on."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"


def site_locales(content_dir: Path) -> list[str]:
    """The locales listed in site.yml."""
    import yaml

    site = yaml.safe_load((content_dir / "site.yml").read_text(encoding="utf-8"))
    return [str(code) for code in site["locales"]]


async def run(args: argparse.Namespace) -> int:
    """Start both servers, measure, print; 0 when every budget is met and every check passed."""
    settings = Settings.from_env()
    plan = (
        Plan(rounds=4, seconds=0.25, warmup=0.15, connections=4)
        if args.quick
        else Plan(rounds=8, seconds=0.5, warmup=0.3, connections=4)
    )
    if args.rounds:
        plan.rounds = args.rounds
    if args.seconds:
        plan.seconds = args.seconds
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        # Separate state folders: the two processes must not build static files into one.
        hub_env = {**env, "HUB_DATA_DIR": env.get("HUB_DATA_DIR") or str(folder / "hub")}
        bare_env = {**env, "HUB_DATA_DIR": str(folder / "bare")}
        hub = hub_server(hub_env, folder / "hub.log")
        bare = bare_server(bare_env, folder / "bare.log")
        started = time.perf_counter()
        hub.start()
        bare.start()
        try:
            await asyncio.gather(hub.ready(), bare.ready())
            print(f"Commit {commit()}, content {settings.content_dir}")
            print(f"Python {sys.version.split()[0]}, {machine()}")
            print(f"Both servers listening after {time.perf_counter() - started:.1f} s")
            print()
            status = await measure_all(args, settings, plan, hub, bare, env, folder)
            print(f"Load average at the end: {os.getloadavg()[0]:.1f}")
            return status
        finally:
            hub.stop()
            bare.stop()


async def measure_all(
    args: argparse.Namespace,
    settings: Settings,
    plan: Plan,
    hub: Server,
    bare: Server,
    env: Mapping[str, str],
    folder: Path,
) -> int:
    """The speed table, the client's ceiling, the weights and the log check."""
    bench = Bench(hub, bare, plan)
    home = await bench.fetch(hub, "/en/", phone(cookie=corridor_cookie("en")))
    cases = build_cases(settings.content_dir, parse_links(home).stylesheets[0])
    unknown = set(args.case) - {case.key for case in cases}
    if unknown:
        print(f"unknown case: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.case:
        cases = [case for case in cases if case.key in args.case]
    ok = True
    if not args.weight_only:
        ok = await measure_speed(bench, cases, plan, env, folder)

    if not args.no_weight:
        locales = site_locales(settings.content_dir)
        if args.quick and not args.weight_only:
            locales = [code for code in locales if code in ("en", "my")] or locales[:1]
        visits = {code: await first_visit(bench, code) for code in locales}
        ok &= print_first_visit(visits)
        crawled = {code: await crawl(bench, settings.content_dir, code) for code in locales}
        ok &= print_round_trips(crawled)

    await asyncio.sleep(0.2)  # the last access lines are written after the response
    print()
    for server in (hub, bare):
        lines = server.log_lines(" hub.access: ")
        sent = bench.sent[server.name]
        print(f"{server.name}: {lines} hub.access lines logged for {sent} requests")
        if lines < sent:
            print(f"  ! {server.name} logged fewer lines than it answered requests")
            ok = False
    return 0 if ok else 1


async def measure_speed(
    bench: Bench, cases: list[Case], plan: Plan, env: Mapping[str, str], folder: Path
) -> bool:
    """Measure each case against the floor and print the table and the client's ceiling."""
    outcomes = [await bench.measure(case) for case in cases]
    print_speed(outcomes, plan)
    biggest = max(o.size for o in outcomes)
    ceiling = await bench.ceiling(biggest, env, folder / "canned.log")
    fastest = max(median([r.rate for r in o.bare]) for o in outcomes)
    print()
    print(
        f"Load client's ceiling: {ceiling:.0f} req/s against a server that only answers "
        f"{biggest:,} B; fastest floor measured {fastest:.0f} req/s "
        f"({ceiling / fastest:.1f}x headroom)"
    )
    return all(o.met for o in outcomes)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="short rounds, two locales")
    parser.add_argument("--case", action="append", default=[], help="measure only this case")
    parser.add_argument("--rounds", type=int, help="rounds per case")
    parser.add_argument("--seconds", type=float, help="seconds per round and server")
    parser.add_argument("--no-weight", action="store_true", help="skip the first-visit weight")
    parser.add_argument(
        "--weight-only",
        action="store_true",
        help="only the weights (first visit, first round trips), every locale; no speed",
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
