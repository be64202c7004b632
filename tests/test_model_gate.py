"""The model gate: one request at a time, interactive ones before background ones.

Real asyncio tasks contending for a real `ModelGate`; each "request" records when it held the
model.
"""

from __future__ import annotations

import asyncio

from takeaways_daemon.backends.model_gate import ModelGate


async def _use(gate: ModelGate, name: str, order: list[str], *, interactive: bool) -> None:
    async with gate.turn(interactive=interactive):
        order.append(name)
        await asyncio.sleep(0.01)


def test_a_waiting_interactive_request_goes_before_background_work_that_queued_first() -> None:
    async def scenario() -> list[str]:
        gate, order = ModelGate(), []
        holder = asyncio.create_task(_use(gate, "candidate 1", order, interactive=False))
        await asyncio.sleep(0)  # candidate 1 holds the model
        background = asyncio.create_task(_use(gate, "candidate 2", order, interactive=False))
        await asyncio.sleep(0)  # candidate 2 queues first...
        question = asyncio.create_task(_use(gate, "explain more", order, interactive=True))
        await asyncio.gather(holder, background, question)
        return order

    assert asyncio.run(scenario()) == ["candidate 1", "explain more", "candidate 2"]


def test_the_model_is_never_used_by_two_requests_at_once() -> None:
    async def scenario() -> int:
        gate, busy, most = ModelGate(), 0, 0

        async def use(interactive: bool) -> None:
            nonlocal busy, most
            async with gate.turn(interactive=interactive):
                busy += 1
                most = max(most, busy)
                await asyncio.sleep(0.001)
                busy -= 1

        await asyncio.gather(*(use(index % 3 == 0) for index in range(30)))
        return most

    assert asyncio.run(scenario()) == 1


def test_a_cancelled_interactive_wait_lets_background_work_go_on() -> None:
    async def scenario() -> list[str]:
        gate, order = ModelGate(), []
        holder = asyncio.create_task(_use(gate, "candidate 1", order, interactive=False))
        await asyncio.sleep(0)
        question = asyncio.create_task(_use(gate, "question", order, interactive=True))
        background = asyncio.create_task(_use(gate, "candidate 2", order, interactive=False))
        await asyncio.sleep(0)
        question.cancel()  # the person closed the question before the model was free
        await asyncio.wait_for(asyncio.gather(holder, background), timeout=2)
        assert gate.interactive == 0
        return order

    assert asyncio.run(scenario()) == ["candidate 1", "candidate 2"]


def test_interactive_requests_are_counted_while_they_wait_and_run() -> None:
    async def scenario() -> list[int]:
        counts: list[int] = []
        gate = ModelGate()
        gate.on_change = lambda: counts.append(gate.interactive)
        await _use(gate, "ask", [], interactive=True)
        return counts

    assert asyncio.run(scenario()) == [1, 0]
