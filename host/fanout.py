"""Fan-out of one stream of events to many listeners, none of which can slow the others down or grow memory.

In the manner of python-can's `Notifier`: a publisher hands each event to the `Notifier`, which passes it on to
  - callbacks (`add_listener`), called at once in the publisher's thread: for work that must see every event and
    is quick (a recorder appending to a file);
  - subscriptions (`subscribe`): a bounded queue per reader in the event loop; when a reader falls behind, the
    oldest events are dropped and counted (`Subscription.dropped`), so a stalled reader costs a fixed amount;
  - taps (`tap`): the same bounded buffer, safe to drain from another thread (a Qt window's timer) without
    touching the event loop.
Every kind of listener can be removed, and stops receiving at once. A callback that raises is logged and counted
(`callback_errors`) and the others still get the event: one broken listener must not silence the publisher (the
device client's reader) or the listeners after it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
DEFAULT_QUEUE = 4096  # events a reader may fall behind by: 20 s of the 200 Hz flute stream


class Subscription(Generic[T]):
    """One reader's bounded queue. Read with `await get()` or `async for event in subscription`; `close()`
    unsubscribes. Use it from the event loop's thread only."""

    def __init__(self, notifier: Notifier[T], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("a subscription holds at least one event")
        self._notifier = notifier
        self._events: deque[T] = deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0  # events lost because this reader fell more than maxsize behind

    def put(self, event: T) -> None:
        if len(self._events) >= self._maxsize:
            self._events.popleft()
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    async def get(self) -> T:
        """The next event; once closed and empty, raises SubscriptionClosed (ends an `async for`)."""
        while not self._events:
            if self._closed:
                raise SubscriptionClosed
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def get_nowait(self) -> T | None:
        """The next event, or None when none is waiting."""
        return self._events.popleft() if self._events else None

    def __len__(self) -> int:
        return len(self._events)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop receiving; a reader waiting in `get` gets what is left, then SubscriptionClosed."""
        self._notifier.unsubscribe(self)
        self._closed = True
        self._ready.set()


class SubscriptionClosed(Exception):
    """The subscription was closed (by its reader or by the notifier) and holds no more events."""


class ThreadTap(Generic[T]):
    """A bounded buffer that any thread may `drain`; the publisher's thread fills it. Oldest events drop first."""

    def __init__(self, notifier: Notifier[T], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("a tap holds at least one event")
        self._notifier = notifier
        self._events: deque[T] = deque()
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, event: T) -> None:
        with self._lock:
            if len(self._events) >= self._maxsize:
                self._events.popleft()
                self.dropped += 1
            self._events.append(event)

    def drain(self) -> list[T]:
        """Every event waiting, oldest first; the buffer is empty afterwards."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def close(self) -> None:
        self._notifier.unsubscribe(self)


class Notifier(Generic[T]):
    """Hands every published event to each listener, in publication order."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []
        self._buffers: list[Subscription[T] | ThreadTap[T]] = []
        self.callback_errors = 0

    def add_listener(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Call `callback(event)` for every event from now on; returns the function that removes it."""
        self._callbacks.append(callback)
        return lambda: self._remove_callback(callback)

    def subscribe(self, maxsize: int = DEFAULT_QUEUE) -> Subscription[T]:
        subscription = Subscription(self, maxsize)
        self._buffers.append(subscription)
        return subscription

    def tap(self, maxsize: int = DEFAULT_QUEUE) -> ThreadTap[T]:
        tap = ThreadTap(self, maxsize)
        self._buffers.append(tap)
        return tap

    def unsubscribe(self, buffer: Subscription[T] | ThreadTap[T]) -> None:
        if buffer in self._buffers:
            self._buffers.remove(buffer)

    def publish(self, event: T) -> None:
        # over copies: a listener may leave while being called (or a tap from another thread)
        for callback in tuple(self._callbacks):
            try:
                callback(event)
            except Exception:
                self.callback_errors += 1
                log.exception("a listener failed on %r", type(event).__name__)
        for buffer in tuple(self._buffers):
            buffer.put(event)

    def close(self) -> None:
        """End every subscription (their readers finish what is queued) and drop every listener."""
        for buffer in tuple(self._buffers):
            buffer.close()
        self._callbacks.clear()

    @property
    def listeners(self) -> int:
        return len(self._callbacks) + len(self._buffers)

    @property
    def buffers(self) -> tuple[Subscription[T] | ThreadTap[T], ...]:
        """The subscriptions and taps, each with its own `dropped` count."""
        return tuple(self._buffers)

    def _remove_callback(self, callback: Callable[[T], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)
