"""The librdkafka clients' one door to the event loop: many threads' work reaches the loop in
lots, in the order each thread handed it over, and one failing piece loses no other."""

from __future__ import annotations

import asyncio
import threading

from services.kafka.rdkafka.common import Handover, handover


async def test_work_handed_over_while_the_loop_is_busy_reaches_it_in_one_wake() -> None:
    loop = asyncio.get_running_loop()
    door = Handover(loop)
    wakes = 0
    taken: list[int] = []
    real_take = door._take

    def counted_take() -> None:
        nonlocal wakes
        wakes += 1
        real_take()

    door._take = counted_take  # type: ignore[method-assign]
    threads = [
        threading.Thread(
            target=lambda n=n: [door.put(taken.append, n * 100 + i) for i in range(100)]
        )
        for n in range(8)
    ]
    for t in threads:  # the loop does not run while they hand over: one lot, one wake
        t.start()
    for t in threads:
        t.join()
    finished = asyncio.Event()
    door.put(finished.set)  # joins the same lot, last
    await asyncio.wait_for(finished.wait(), 5)
    assert wakes == 1
    assert sorted(taken) == list(range(800))
    for n in range(8):  # each thread's pieces in the order it handed them over
        mine = [x for x in taken if x // 100 == n]
        assert mine == sorted(mine)


async def test_a_failing_piece_of_work_does_not_keep_the_rest_of_its_lot() -> None:
    loop = asyncio.get_running_loop()
    errors: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))
    door = Handover(loop)
    done: list[str] = []

    def broken() -> None:
        raise ValueError("one client's fault")

    finished = asyncio.Event()

    def put_all() -> None:
        door.put(done.append, "before")
        door.put(broken)
        door.put(done.append, "after")
        door.put(finished.set)

    await asyncio.to_thread(put_all)
    await asyncio.wait_for(finished.wait(), 5)
    assert done == ["before", "after"]
    assert [type(e) for e in errors] == [ValueError]


async def test_every_client_on_one_loop_shares_its_door_and_another_loop_has_its_own() -> None:
    here = handover()
    assert handover() is here
    elsewhere = await asyncio.to_thread(lambda: asyncio.run(_door_of_a_new_loop()))
    assert elsewhere is not here


async def _door_of_a_new_loop() -> Handover:
    return handover()


async def test_work_handed_over_after_its_loop_closed_is_dropped_without_error() -> None:
    other = asyncio.new_event_loop()
    door = Handover(other)
    other.close()
    door.put(print, "nobody waits")  # no RuntimeError from the closed loop
