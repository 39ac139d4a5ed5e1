"""The word index of one locale's search: how often a query word matches in every document.

A query word holds no space, and a space always ends a word, so every match of a query word lies
inside one space-free piece of a field, and how often it matches there does not depend on the
rest of the field. A field's count is therefore the sum, over the distinct pieces of all fields
(the vocabulary), of the piece's matches times its occurrences in the field. The index keeps
those occurrences as bit planes (bitslice), and two ways into the vocabulary: every word start
inside every piece in one sorted list, where the pieces a query word starts are a range found by
bisection; and the pieces holding Thai, Lao, Myanmar or Khmer letters in one text, searched for
a query word that may match anywhere. Raw text is split at whitespace and each distinct piece
folded once: fold() works piece by piece (see fold_texts).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from itertools import accumulate, repeat
from operator import methodcaller
from typing import Any

from hub.content import text as textmod
from hub.content.bitslice import Planes, from_counts, total
from hub.content.bitslice import cap as bitcap

# Thai, Lao, Myanmar and Khmer write words without spaces between them, so a query word
# starting with one of their letters may match anywhere; in other scripts it must start a word.
NO_SPACE_SCRIPTS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f"
_NO_SPACE = re.compile(f"[{NO_SPACE_SCRIPTS}]")
# A word starts where the character before is not a letter or digit (or there is none).
WORD_START = r"(?<![^\W_])"
# A character after which a word starts, before one that is not of an unspaced script.
_INNER_START = re.compile(rf"[\W_](?=[^{NO_SPACE_SCRIPTS}])")


def anywhere(term: str) -> bool:
    """Whether a query word may match anywhere: it starts with a Thai, Lao, Myanmar or Khmer
    character."""
    return _NO_SPACE.match(term) is not None


def pattern(term: str) -> re.Pattern[str]:
    """The matches of a query word in a text: anywhere, or only where a word starts."""
    if anywhere(term):
        return re.compile(re.escape(term))
    return re.compile(WORD_START + re.escape(term))


# Joins pieces for folding them in one call: fold() neither makes nor drops it, nothing
# composes with it, and case rules look no further than it (it is neither cased nor ignorable).
_JOIN = "\x00"


def _fold_pieces(pieces: list[str]) -> list[str]:
    """text.fold() of each whitespace-free piece, in one call for all (far fewer steps)."""
    joined = _JOIN.join(pieces)
    if joined.count(_JOIN) != len(pieces) - 1:  # a piece holds the joiner itself
        return [textmod.fold(piece) for piece in pieces]
    return [part.strip(" ") for part in textmod.fold(joined).split(_JOIN)]


def fold_texts(texts: Sequence[str]) -> list[str]:
    """text.fold(t) for each text t, folding each distinct whitespace-free piece once.

    fold() never reaches across whitespace (zero-width characters, Unicode forms, case, Latin
    accents and digits are all a matter of one piece: Unicode composes and reorders nothing
    across a space, and case looks no further than one) and it collapses whitespace into one
    space; so a text's fold is its pieces' folded forms, the empty ones left out, joined by
    single spaces.
    """
    pieces = [text.split() for text in texts]
    distinct = list(set().union(*pieces))
    folded = dict(zip(distinct, _fold_pieces(distinct), strict=True))
    return [" ".join(filter(None, map(folded.__getitem__, piece_list))) for piece_list in pieces]


def _postings(texts: Iterable[list[str]], cap: int | None) -> dict[str, Planes]:
    """Each piece of the texts (given split) and its count in each text (at most `cap`), as
    planes."""
    bits: defaultdict[str, list[int]] = defaultdict(list)
    tallies: defaultdict[str, list[int]] = defaultdict(list)
    for number, pieces in enumerate(texts):
        counts = Counter(pieces)
        # Loops in C, the one step that visits every distinct piece of every text: each piece
        # gets the text's bit and its count there.
        deque(map(list.append, map(bits.__getitem__, counts), repeat(1 << number)), maxlen=0)
        deque(map(list.append, map(tallies.__getitem__, counts), counts.values()), maxlen=0)
    return {
        piece: (sum(members),) if max(tally) == 1 else from_counts(members, tally, cap)
        for piece, members in bits.items()
        if (tally := tallies[piece])
    }


def _folded(
    postings: dict[str, Planes], forms: dict[str, str], cap: int | None, everyone: int
) -> dict[str, Planes]:
    """Postings of raw pieces turned into postings of their folded forms (pieces that fold
    alike, such as "Passport" and "passport", add up)."""
    parts: defaultdict[str, list[Planes]] = defaultdict(list)
    for piece, planes in postings.items():
        if forms[piece]:
            parts[forms[piece]].append(planes)
    words: dict[str, Planes] = {}
    for word, sums in parts.items():
        if len(sums) == 1:
            words[word] = sums[0]
        else:
            summed = total((planes, 1) for planes in sums)
            words[word] = summed if cap is None else bitcap(summed, cap, everyone)
    return words


def _starts(word: str) -> list[str]:
    """The word from each place a word starts in it, except where a letter of a script written
    without spaces stands (query words matched at word starts never begin with one)."""
    starts = [] if _NO_SPACE.match(word) else [word]
    if not word.isalnum():
        starts += [word[m.end() :] for m in _INNER_START.finditer(word)]
    return starts


def _after(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`; None if there is none."""
    last = ord(prefix[-1])
    return None if last == 0x10FFFF else prefix[:-1] + chr(last + 1)


class WordIndex:
    """Per-field counts of any query word in every document, from the vocabulary of the fields."""

    def __init__(
        self, fields: Sequence[Sequence[str]], caps: Sequence[int | None], *, raw: bool = False
    ) -> None:
        """Index `fields[d][i]`, field i (one per cap) of document d: folded text, or with
        `raw` text to fold (as text.fold does) piece by piece.

        Counts in field i are kept up to caps[i] (None: all): exact for any sum of counts
        that is itself capped at that limit, as body hits are.
        """
        # Folded text splits into words at its only whitespace, single spaces; raw text
        # splits into pieces at any whitespace, as fold() collapses it.
        split = str.split if raw else methodcaller("split", " ")
        postings = [
            _postings((split(doc[i]) if doc[i] else [] for doc in fields), cap)
            for i, cap in enumerate(caps)
        ]
        if raw:
            pieces = list(set().union(*postings))
            forms = dict(zip(pieces, _fold_pieces(pieces), strict=True))
            everyone = (1 << len(fields)) - 1
            postings = [
                _folded(p, forms, cap, everyone) for p, cap in zip(postings, caps, strict=True)
            ]
        self.postings = tuple(postings)
        vocabulary: set[str] = set().union(*self.postings)
        entries = sorted((start, word) for word in vocabulary for start in _starts(word))
        self._starts = [start for start, _ in entries]
        self._owners = [word for _, word in entries]
        self._unspaced = sorted(word for word in vocabulary if _NO_SPACE.search(word))
        # The unspaced words in one text, and where each begins in it.
        self.unspaced_text = " ".join(self._unspaced)
        self._offsets = list(accumulate((len(w) + 1 for w in self._unspaced), initial=0))
        self._pairs = _pairs(self._unspaced)

    def state(self) -> tuple[Any, ...]:
        """The index as plain values (dicts, lists, tuples, text, bytes and ints), for
        `restore`."""
        pairs = {pair: numbers.tobytes() for pair, numbers in self._pairs.items()}
        return (self.postings, self._starts, self._owners, self._unspaced, self._offsets, pairs)

    @classmethod
    def restore(cls, state: tuple[Any, ...]) -> WordIndex:
        """The index whose `state()` this was."""
        index = cls.__new__(cls)
        postings, starts, owners, unspaced, offsets, pairs = state
        index.postings = tuple(postings)
        index._starts, index._owners, index._unspaced = starts, owners, unspaced
        index._offsets = offsets
        index.unspaced_text = " ".join(unspaced)
        index._pairs = {pair: array(_NUMBERS, data) for pair, data in pairs.items()}
        return index

    def counts(self, term: str) -> tuple[Planes, ...]:
        """How often the query word `term` (not empty, no space) matches, per field, in each
        document: non-overlapping matches, anywhere or at word starts as `pattern` says."""
        matched = self._within(term) if anywhere(term) else self._at_starts(term)
        return tuple(_total(postings, matched) for postings in self.postings)

    def _at_starts(self, term: str) -> dict[str, int]:
        """The vocabulary words `term` matches at a word start, with how often."""
        lo = bisect_left(self._starts, term)
        after = _after(term)
        if after is not None:
            hi = bisect_left(self._starts, after, lo)
        else:
            hi = lo
            while hi < len(self._starts) and self._starts[hi].startswith(term):
                hi += 1
        owners = self._owners[lo:hi]
        if len(term) == 1 or term[:-1].isalnum():
            # No word starts inside the term, so its matches cannot overlap: each word start
            # it begins is one match.
            return dict(Counter(owners))
        found = pattern(term)
        return {word: len(found.findall(word)) for word in dict.fromkeys(owners)}

    def _within(self, term: str) -> dict[str, int]:
        """The vocabulary words holding `term` anywhere, with how often (non-overlapping)."""
        if len(term) >= 2:
            # A word holding the term holds each of its pairs of code points: only the words
            # of its rarest pair are read (scanning the whole unspaced text cost ~70 us).
            lists: list[array[int]] = []
            for i in range(len(term) - 1):
                numbers = self._pairs.get(term[i : i + 2])
                if numbers is None:
                    return {}
                lists.append(numbers)
            words = self._unspaced
            found = {}
            for number in min(lists, key=len):
                times = words[number].count(term)
                if times:
                    found[words[number]] = times
            return found
        found = {}
        text, offsets = self.unspaced_text, self._offsets
        at = text.find(term)
        while at >= 0:
            i = bisect_right(offsets, at) - 1
            word = self._unspaced[i]
            found[word] = word.count(term)
            at = text.find(term, offsets[i + 1])
        return found


# Word numbers of the unspaced vocabulary, 4 bytes each.
_NUMBERS = "I"


def _pairs(words: Sequence[str]) -> dict[str, array[int]]:
    """Each pair of neighbouring code points in the words, with the numbers of the words
    holding it (ascending)."""
    found: defaultdict[str, array[int]] = defaultdict(lambda: array(_NUMBERS))
    for number, word in enumerate(words):
        for pair in {word[i : i + 2] for i in range(len(word) - 1)}:
            found[pair].append(number)
    return dict(found)


def _total(postings: dict[str, Planes], matched: dict[str, int]) -> Planes:
    """The sum of the matched words' counts in one field, each times its matches in the word."""
    get = postings.get
    return total([(planes, times) for word, times in matched.items() if (planes := get(word))])
