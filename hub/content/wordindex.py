"""The word index of one locale's search: how often a query word matches in every document.

Fields are folded text whose words are separated by single spaces, and a query word holds no
space, so every match of a query word lies inside one word of a field, and how often it matches
in that word does not depend on the rest of the field. A field's count is therefore the sum, over
the distinct words of all fields (the vocabulary), of the word's matches times its occurrences in
the field. The index keeps those occurrences as bit planes (bitslice), and two ways into the
vocabulary: every word start inside every word in one sorted list, where the words a query word
starts are a range found by bisection; and the words holding Thai, Lao, Myanmar or Khmer letters
in one text, searched for a query word that may match anywhere.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from itertools import accumulate, compress, repeat
from operator import gt, itemgetter

from hub.content import text as textmod
from hub.content.bitslice import Planes, from_counts, total

# Thai, Lao, Myanmar and Khmer write words without spaces between them, so a query word
# starting with one of their letters may match anywhere; in other scripts it must start a word.
NO_SPACE_SCRIPTS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f"
_NO_SPACE = re.compile(f"[{NO_SPACE_SCRIPTS}]")
# A word starts where the character before is not a letter or digit (or there is none).
WORD_START = r"(?<![^\W_])"
_BREAK = re.compile(r"[\W_]")


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


def fold_words(texts: Sequence[str]) -> list[list[str]]:
    """The words of text.fold(t) for each text t (fold() is these joined by single spaces).

    fold() never reaches across whitespace (zero-width characters, Unicode forms, case, Latin
    accents and digits are all a matter of one piece: Unicode composes and reorders nothing
    across a space, and case looks no further than one) and it collapses whitespace into one
    space; so each distinct whitespace-free piece of all the texts is folded once, and a text's
    words are its pieces' folded forms, the empty ones left out.
    """
    pieces = [text.split() for text in texts]
    distinct = list(set().union(*pieces))
    folded = dict(zip(distinct, _fold_pieces(distinct), strict=True))
    # NFKD of a few signs (U+00A8 and the like) holds a space: such a piece is two words.
    spaced = {form for form in folded.values() if " " in form} if distinct else set()
    words = [list(filter(None, map(folded.__getitem__, piece_list))) for piece_list in pieces]
    if spaced:
        words = [" ".join(w).split(" ") if not spaced.isdisjoint(w) else w for w in words]
    return words


def _postings(texts: Iterable[Sequence[str]], cap: int | None) -> dict[str, Planes]:
    """Each word of the texts (given as their words) and its count in each text (at most
    `cap`), as planes."""
    present: defaultdict[str, list[int]] = defaultdict(list)
    repeated: defaultdict[str, list[int]] = defaultdict(list)
    for number, words in enumerate(texts):
        if not words:
            continue
        counts = Counter(words)
        # Loops in C: the one step that visits every distinct word of every text. Each word
        # gets the text's number; a word found more than once also gets (number, count).
        deque(map(list.append, map(present.__getitem__, counts), repeat(number)), maxlen=0)
        if len(counts) < len(words):
            many = list(compress(counts.items(), map(gt, counts.values(), repeat(1))))
            deque(
                map(
                    list.extend,
                    map(repeated.__getitem__, map(itemgetter(0), many)),
                    zip(repeat(number), map(itemgetter(1), many)),
                ),
                maxlen=0,
            )
    return {
        word: from_counts(documents, repeated.get(word, []), cap)
        for word, documents in present.items()
    }


def _starts(word: str) -> list[str]:
    """The word from each place a word starts in it, except where a letter of a script written
    without spaces stands (query words matched at word starts never begin with one)."""
    if word.isalnum():
        return [] if _NO_SPACE.match(word) else [word]
    starts = [0, *(m.end() for m in _BREAK.finditer(word))]
    return [word[i:] for i in starts if i < len(word) and not _NO_SPACE.match(word, i)]


def _after(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`; None if there is none."""
    last = ord(prefix[-1])
    return None if last == 0x10FFFF else prefix[:-1] + chr(last + 1)


class WordIndex:
    """Per-field counts of any query word in every document, from the vocabulary of the fields."""

    def __init__(
        self, words: Sequence[Sequence[Sequence[str]]], caps: Sequence[int | None]
    ) -> None:
        """Index `words[d][i]`, the words of field i (one per cap) of document d: the field
        split at spaces.

        Counts in field i are kept up to caps[i] (None: all): exact for any sum of counts
        that is itself capped at that limit, as body hits are.
        """
        self.size = len(words)
        self.postings = tuple(
            _postings((doc[i] for doc in words), cap) for i, cap in enumerate(caps)
        )
        vocabulary: set[str] = set().union(*self.postings)
        entries = sorted((start, word) for word in vocabulary for start in _starts(word))
        self._starts = [start for start, _ in entries]
        self._owners = [word for _, word in entries]
        self._unspaced = sorted(word for word in vocabulary if _NO_SPACE.search(word))
        # The unspaced words in one text, and where each begins in it.
        self.unspaced_text = " ".join(self._unspaced)
        self._offsets = list(accumulate((len(w) + 1 for w in self._unspaced), initial=0))

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
        found: dict[str, int] = {}
        text, offsets = self.unspaced_text, self._offsets
        at = text.find(term)
        while at >= 0:
            i = bisect_right(offsets, at) - 1
            word = self._unspaced[i]
            found[word] = word.count(term)
            at = text.find(term, offsets[i + 1])
        return found


def _total(postings: dict[str, Planes], matched: dict[str, int]) -> Planes:
    """The sum of the matched words' counts in one field, each times its matches in the word."""
    get = postings.get
    return total([(planes, times) for word, times in matched.items() if (planes := get(word))])
