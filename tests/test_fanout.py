"""The fan-out under the session timeline and the device client: every listener gets every event in order, a slow
one loses its oldest events (counted) instead of growing, and any listener can leave."""

import asyncio
import threading

import pytest

from flutex.host.fanout import Notifier


async def test_every_kind_of_listener_gets_every_event_in_order():
    notifier: Notifier[int] = Notifier()
    called: list[int] = []
    notifier.add_listener(called.append)
    subscription, tap = notifier.subscribe(10), notifier.tap(10)
    for k in range(5):
        notifier.publish(k)
    assert called == [0, 1, 2, 3, 4]
    assert [await subscription.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert tap.drain() == [0, 1, 2, 3, 4] and tap.drain() == []
    assert notifier.listeners == 3


async def test_a_reader_that_never_reads_costs_a_fixed_amount_and_counts_its_drops():
    notifier: Notifier[int] = Notifier()
    stalled, reader = notifier.subscribe(4), notifier.subscribe(100)
    for k in range(100):
        notifier.publish(k)
    assert len(stalled) == 4 and stalled.dropped == 96
    assert [stalled.get_nowait() for _ in range(4)] == [96, 97, 98, 99]  # the newest stay
    assert reader.dropped == 0 and len(reader) == 100


async def test_a_waiting_reader_wakes_for_the_next_event():
    notifier: Notifier[str] = Notifier()
    subscription = notifier.subscribe()
    waiting = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    notifier.publish("hello")
    assert await asyncio.wait_for(waiting, 1.0) == "hello"


def test_listeners_leave_at_once():
    notifier: Notifier[int] = Notifier()
    called: list[int] = []
    remove = notifier.add_listener(called.append)
    tap = notifier.tap()
    remove()
    tap.close()
    notifier.publish(1)
    assert called == [] and tap.drain() == [] and notifier.listeners == 0


def test_a_tap_is_drained_from_another_thread_without_losing_or_repeating_events():
    notifier: Notifier[int] = Notifier()
    tap = notifier.tap(maxsize=1_000_000)
    drained: list[int] = []
    done = threading.Event()

    def window_timer():  # a Qt window's timer, in its own thread
        while not done.is_set():
            drained.extend(tap.drain())
        drained.extend(tap.drain())

    thread = threading.Thread(target=window_timer)
    thread.start()
    for k in range(50_000):
        notifier.publish(k)
    done.set()
    thread.join()
    assert drained == list(range(50_000))


def test_bounds_below_one_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        Notifier().subscribe(0)
    with pytest.raises(ValueError, match="at least one"):
        Notifier().tap(0)


def test_a_listener_that_leaves_while_called_does_not_rob_the_next_one():
    notifier: Notifier[int] = Notifier()
    second: list[int] = []
    remove = notifier.add_listener(lambda _: remove())
    notifier.add_listener(second.append)
    notifier.publish(1)
    assert second == [1]


def test_a_failing_callback_does_not_stop_the_others():
    notifier: Notifier[int] = Notifier()
    got: list[int] = []

    def broken(_event: int) -> None:
        raise OSError("disk full")

    notifier.add_listener(broken)
    notifier.add_listener(got.append)
    notifier.publish(1)  # the publisher (the client's reader) is not interrupted
    assert got == [1]
    assert notifier.callback_errors == 1


async def test_closing_a_subscription_ends_its_reader_after_what_is_queued():
    notifier: Notifier[int] = Notifier()
    subscription = notifier.subscribe()
    notifier.publish(1)

    async def read_all() -> list[int]:
        return [event async for event in subscription]

    reader = asyncio.ensure_future(read_all())
    await asyncio.sleep(0)  # the reader takes 1 and waits for more
    notifier.publish(2)
    notifier.close()
    notifier.publish(3)  # after the close: not delivered
    assert await reader == [1, 2]
    assert notifier.listeners == 0
