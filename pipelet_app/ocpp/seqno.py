"""2.0.1 TransactionEvent seqNo bookkeeping: which messages of a transaction arrived, which are missing.

A charging station numbers the TransactionEvents of one transaction 0, 1, 2, ... (the Started event is
0). A jump (0, then 2) means a message was lost or is still queued offline; an older number arriving
later is that message delivered late, and fills the gap. The CSMS applies every event whatever its
number (the handlers are written so that order does not matter); this module only keeps count, so an
operator can see which transactions are missing messages.

The set of seen numbers is kept as sorted, merged, inclusive ranges and stored as text (`0-3,5,7-9`):
exact (a late message removes exactly its own number from the missing set, a duplicate changes
nothing) and compact for the normal case of no gaps (`0-41`). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[int, int]  # inclusive


@dataclass(frozen=True, slots=True)
class SeqState:
    """The seqNos seen so far for one transaction."""

    ranges: tuple[Range, ...] = ()

    @property
    def last(self) -> int | None:
        """The highest seqNo seen (None before the first)."""
        return self.ranges[-1][1] if self.ranges else None

    @property
    def count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    @property
    def missing(self) -> int:
        """How many numbers in 0..last never arrived."""
        return 0 if self.last is None else self.last + 1 - self.count

    def missing_numbers(self, limit: int = 100) -> list[int]:
        """The first `limit` missing seqNos, for log lines and operator views."""
        out: list[int] = []
        expected = 0
        for lo, hi in self.ranges:
            for number in range(expected, lo):
                if len(out) >= limit:
                    return out
                out.append(number)
            expected = hi + 1
        return out

    def __contains__(self, seq_no: object) -> bool:
        return isinstance(seq_no, int) and any(lo <= seq_no <= hi for lo, hi in self.ranges)


@dataclass(frozen=True, slots=True)
class SeqUpdate:
    """What one received seqNo did to the state."""

    state: SeqState
    duplicate: bool  # already seen: nothing changed
    late: bool  # below the highest seen: delivered out of order (fills a gap)
    skipped: int  # how many numbers this message jumped over (0 when in order)


def add(state: SeqState, seq_no: int) -> SeqUpdate:
    """`state` with `seq_no` received. Negative numbers are not seqNos: refused with ValueError."""
    if seq_no < 0:
        raise ValueError(f"seqNo {seq_no} is negative")
    if seq_no in state:
        return SeqUpdate(state, duplicate=True, late=False, skipped=0)
    last = state.last
    late = last is not None and seq_no < last
    skipped = 0 if late else seq_no - (last + 1 if last is not None else 0)
    merged: list[Range] = []
    lo, hi = seq_no, seq_no
    for r_lo, r_hi in state.ranges:
        if r_hi + 1 < lo or r_lo > hi + 1:
            merged.append((r_lo, r_hi))
        else:  # adjacent or overlapping: absorb
            lo, hi = min(lo, r_lo), max(hi, r_hi)
    merged.append((lo, hi))
    merged.sort()
    return SeqUpdate(SeqState(tuple(merged)), duplicate=False, late=late, skipped=skipped)


def parse(text: str) -> SeqState:
    """The state stored as `format_state` wrote it (`""` is the empty state)."""
    ranges: list[Range] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        ranges.append((int(lo), int(hi or lo)))
    return SeqState(tuple(sorted(ranges)))


def format_state(state: SeqState) -> str:
    """`0-3,5,7-9`: one item per range, a single number when the range has one member."""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in state.ranges)
