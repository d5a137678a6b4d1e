"""The simulator's page and the calls its script makes (send, +25 h, reload, start over)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from listener.console.pages import router, service_of, source_link
from listener.console.rendering import error_response, page
from listener.console.simulator import Simulator, SimulatorView
from listener.conversation.graph import FlowError
from listener.diagram.model import drawing
from listener.diagram.svg import render
from listener.masking import mask_phone

WAIT_HOURS = 25


class SimulatedMessage(BaseModel):
    """What the chat form posts: a text, or the transcript of a voice note."""

    text: str = Field(min_length=1, max_length=4096)
    voice: bool = False


def simulator_of(request: Request) -> Simulator:
    """The app's simulator, made on first use (its store lives as long as the app)."""
    app: FastAPI = request.app
    simulator = getattr(app.state, "console_simulator", None)
    if simulator is None:
        service = service_of(request)
        simulator = app.state.console_simulator = Simulator(service.settings, service.store)
    return simulator


def _as_json(view: SimulatorView) -> dict:
    return {
        "participant": mask_phone(view.participant),
        "state": view.state,
        "clock": view.clock.isoformat(),
        "lines": [
            {"speaker": line.speaker, "text": line.text, "voice": line.voice, "at": line.at.isoformat()}
            for line in view.lines
        ],
        "diagram": render(drawing(view.graph), current=view.state, link=source_link),
    }


@router.get("/simulator")
async def simulator_page(request: Request) -> Response:
    view = await simulator_of(request).view()
    return page(request, "simulator.html", view=_as_json(view), wait_hours=WAIT_HOURS)


@router.get("/simulator/state")
async def simulator_state(request: Request) -> dict:
    return _as_json(await simulator_of(request).view())


@router.post("/simulator/send")
async def simulator_send(request: Request, message: SimulatedMessage) -> dict:
    simulator = simulator_of(request)
    await simulator.send(message.text, voice=message.voice)
    return _as_json(await simulator.view())


@router.post("/simulator/wait")
async def simulator_wait(request: Request) -> dict:
    simulator = simulator_of(request)
    simulator.advance(WAIT_HOURS)
    return _as_json(await simulator.view())


@router.post("/simulator/reload")
async def simulator_reload(request: Request) -> Response:
    simulator = simulator_of(request)
    try:
        await simulator.reload()
    except FlowError as exc:
        return error_response(request, 422, f"The flow file has a problem, so the previous flow stays: {exc}")
    return JSONResponse(_as_json(await simulator.view()))


@router.post("/simulator/start-over")
async def simulator_start_over(request: Request) -> dict:
    simulator = simulator_of(request)
    await simulator.start_over()
    return _as_json(await simulator.view())


async def close_simulator(app: FastAPI) -> None:
    """Stop the simulator's worker and drop its store (called when the app stops)."""
    simulator = getattr(app.state, "console_simulator", None)
    if simulator is not None:
        await simulator.close()
