"""Loss accounting per stream: frames dropped, repeated and swapped anywhere in the 16-bit sequence space."""

from hypothesis import given
from hypothesis import strategies as st

from flutex.host.link.sequence import SEQ_MODULO, WINDOW, SequenceTracker


@st.composite
def deliveries(draw):
    """(start seq, arrival order as indices into what the board sent): some dropped, some repeated, some
    neighbours swapped, as a faulty line does."""
    sent = draw(st.integers(1, 400))
    start = draw(st.integers(0, SEQ_MODULO - 1))
    kept = [i for i in range(sent) if not draw(st.booleans()) or draw(st.integers(0, 9)) > 0]
    arrivals: list[int] = []
    for i in kept:
        arrivals += [i] * draw(st.sampled_from([1, 1, 1, 2]))
    for position in draw(st.lists(st.integers(0, max(0, len(arrivals) - 2)), max_size=20)):
        if position + 1 < len(arrivals):
            arrivals[position], arrivals[position + 1] = arrivals[position + 1], arrivals[position]
    return start, arrivals


@given(deliveries())
def test_only_what_never_came_counts_as_lost(case):
    start, arrivals = case
    tracker = SequenceTracker()
    delivered = [i for i in arrivals if tracker.accept((start + i) % SEQ_MODULO)]
    if not arrivals:
        return
    first = arrivals[0]
    expected = {i for i in arrivals if i >= first}  # what came before the first frame seen is not placed
    assert sorted(delivered) == sorted(expected), "every frame delivered once, none twice"
    assert tracker.lost == max(arrivals) - first + 1 - len(expected)
    assert tracker.duplicates == len(arrivals) - len(delivered)
    assert tracker.lost >= 0 and tracker.stale == 0


def test_a_swapped_pair_and_a_repeat_cost_nothing_where_a_naive_count_says_65535():
    tracker = SequenceTracker()
    for seq in (65534, 0, 65535, 0, 1):
        tracker.accept(seq)
    assert (tracker.lost, tracker.late, tracker.duplicates) == (0, 1, 1)


def test_a_frame_later_than_the_window_is_dropped_and_stays_lost():
    tracker = SequenceTracker()
    tracker.accept(0)
    tracker.accept(WINDOW + 5)
    assert tracker.lost == WINDOW + 4
    assert not tracker.accept(1)
    assert (tracker.lost, tracker.stale) == (WINDOW + 4, 1)
    assert tracker.accept(10)  # within the window: late, delivered, no longer lost
    assert tracker.lost == WINDOW + 3
