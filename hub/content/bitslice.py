"""Counts of many documents at once, held as bit planes: integers whose bits are documents.

A `Planes` value is a tuple of Python ints, least significant first: document d's count has
bit j set when bit d of plane j is set. Adding, scaling and capping the counts of every document
then costs a few integer operations per plane, whatever the number of documents; an empty
tuple is zero for all.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from functools import reduce
from operator import or_

Planes = tuple[int, ...]


def from_counts(bits: list[int], counts: list[int], limit: int | None = None) -> Planes:
    """The planes of count `counts[i]` (>= 1; above `limit` taken as `limit`) for the document
    of the single bit `bits[i]` (distinct), and zero for the others."""
    if max(counts) == 1:
        return (sum(bits),)
    # Bits grouped by count in C; then one sum per distinct count.
    by_count: defaultdict[int, list[int]] = defaultdict(list)
    deque(map(list.append, map(by_count.__getitem__, counts), bits), maxlen=0)
    top = max(by_count) if limit is None else min(max(by_count), limit)
    planes = [0] * top.bit_length()
    for count, group in by_count.items():
        members = sum(group)
        value = count if limit is None else min(count, limit)
        for j in range(value.bit_length()):
            if (value >> j) & 1:
                planes[j] |= members
    return tuple(planes)


def add(a: Planes, b: Planes) -> Planes:
    """The sum, document by document."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out: list[int] = []
    carry = 0
    for j, x in enumerate(a):
        if j >= len(b) and not carry:
            out.extend(a[j:])
            return tuple(out)
        y = b[j] if j < len(b) else 0
        half = x ^ y
        out.append(half ^ carry)
        carry = (x & y) | (carry & half)
    if carry:
        out.append(carry)
    return tuple(out)


def scale(a: Planes, factor: int) -> Planes:
    """Each count times `factor` (>= 0)."""
    total: Planes = ()
    shift = 0
    while factor:
        if factor & 1:
            total = add(total, (0,) * shift + a)
        factor >>= 1
        shift += 1
    return total


def total(terms: Iterable[tuple[Planes, int]]) -> Planes:
    """The sum of each count times its factor (>= 1), document by document."""
    # Every plane goes into the column of its weight; three planes of one column become one
    # of that column and a carry into the next (a carry-save adder), so summing many counts
    # takes about two integer operations per plane.
    columns: list[list[int]] = []
    for planes, factor in terms:
        shift = 0
        while factor:
            if factor & 1:
                for j, plane in enumerate(planes, shift):
                    while len(columns) <= j:
                        columns.append([])
                    columns[j].append(plane)
            factor >>= 1
            shift += 1
    out: list[int] = []
    for j, column in enumerate(columns):
        carries: list[int] = []
        while len(column) > 2:
            a, b, c = column.pop(), column.pop(), column.pop()
            half = a ^ b
            column.append(half ^ c)
            carries.append((a & b) | (half & c))
        if len(column) == 2:
            a, b = column
            column[:] = [a ^ b]
            carries.append(a & b)
        out.append(column[0] if column else 0)
        if carries:
            if j + 1 == len(columns):
                columns.append([])
            columns[j + 1].extend(carries)
    return tuple(out)


def at_least(a: Planes, value: int, everyone: int) -> int:
    """The documents (among the bits of `everyone`) whose count is at least `value` (>= 0)."""
    greater, equal = 0, everyone
    for j in reversed(range(max(len(a), value.bit_length()))):
        plane = a[j] if j < len(a) else 0
        if (value >> j) & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane
    return greater | equal


def cap(a: Planes, limit: int, everyone: int) -> Planes:
    """Each count, or `limit` (>= 1) where the count is larger."""
    if len(a) < limit.bit_length() or (len(a) == limit.bit_length() and limit == (1 << len(a)) - 1):
        return a  # no count can exceed the limit
    over = at_least(a, limit, everyone)
    return tuple(
        (a[j] & ~over) | (over if (limit >> j) & 1 else 0) for j in range(limit.bit_length())
    )


def nonzero(a: Planes) -> int:
    """The documents whose count is not zero."""
    return reduce(or_, a, 0)


def levels(group: int, a: Planes) -> Iterator[tuple[int, int]]:
    """(count, documents with that count) for the documents of `group`, largest count first."""
    while group:
        top, value = group, 0
        for j in reversed(range(len(a))):
            hit = top & a[j]
            if hit:
                top = hit
                value |= 1 << j
        yield value, top
        group ^= top


def members(bits: int) -> Iterator[int]:
    """The documents of a bitset, in increasing order."""
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low
