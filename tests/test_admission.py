"""Admission: at most `limit` messages in processing, in arrival order; one waiting on the
model gives its place away and comes back in without queueing; a cancelled wait gives
back nothing it did not take."""

from __future__ import annotations

import asyncio

from listener.processing.admission import Admission


def run(coroutine):
    return asyncio.run(coroutine)


def test_at_most_limit_inside_and_the_rest_in_arrival_order():
    async def scenario():
        admission = Admission(2)
        inside, most, order = 0, 0, []

        async def message(number: int) -> None:
            nonlocal inside, most
            async with admission.admitted():
                order.append(number)
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(message(number) for number in range(7)))
        return most, order

    most, order = run(scenario())
    assert most == 2
    assert order == list(range(7))


def test_a_message_waiting_on_the_model_lets_the_next_in_and_comes_back_at_once():
    async def scenario():
        admission = Admission(1)
        model_answers = asyncio.Event()
        events: list[str] = []

        async def slow() -> None:
            async with admission.admitted():
                events.append("slow in")
                async with admission.stepped_out():
                    await model_answers.wait()
                events.append("slow back")

        async def quick(name: str) -> None:
            async with admission.admitted():
                events.append(f"{name} in")
                await asyncio.sleep(0)

        first = asyncio.create_task(slow())
        await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(quick("a"), quick("b")), 1)  # not held behind the model
        blocker = asyncio.create_task(quick("c"))
        model_answers.set()
        await asyncio.wait_for(asyncio.gather(first, blocker), 1)
        return events

    events = run(scenario())
    assert events[:3] == ["slow in", "a in", "b in"]
    assert set(events[3:]) == {"slow back", "c in"}


def test_a_cancelled_wait_takes_no_place_and_keeps_none():
    async def scenario():
        admission = Admission(1)
        release = asyncio.Event()

        async def holder() -> None:
            async with admission.admitted():
                await release.wait()

        async def waiter() -> None:
            async with admission.admitted():
                pass

        held = asyncio.create_task(holder())
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        cancelled.cancel()
        release.set()
        await held
        await asyncio.wait_for(waiter(), 1)  # the place is free again
        return admission._inside

    assert run(scenario()) == 0
