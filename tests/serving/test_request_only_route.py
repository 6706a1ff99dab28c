"""The list route skips FastAPI's request handler (its endpoint takes the request alone);
any route with a parameter or dependency keeps it, so nothing FastAPI would solve is lost."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from recommender.serving import learners
from recommender.serving.deps import RequestOnlyRoute


def test_the_list_route_is_served_by_its_endpoint() -> None:
    (route,) = learners.list_router.routes
    assert isinstance(route, RequestOnlyRoute)
    assert route.get_route_handler() is route.endpoint


def test_routes_with_parameters_or_dependencies_keep_fastapis_handler() -> None:
    router = APIRouter()
    seen: list[str] = []

    async def bare(request: Request) -> Response:
        return Response(request.url.path)

    async def with_query(request: Request, q: int) -> Response:
        return Response(str(q))

    def note(request: Request) -> None:
        seen.append(request.url.path)

    for path, endpoint, dependencies in (("/bare", bare, None), ("/query", with_query, None),
                                         ("/dep", bare, [Depends(note)])):
        router.add_api_route(path, endpoint, methods=["GET"], dependencies=dependencies,
                             route_class_override=RequestOnlyRoute)
    handlers = {route.path: route.get_route_handler() is route.endpoint
                for route in router.routes}
    assert handlers == {"/bare": True, "/query": False, "/dep": False}
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/bare").text == "/bare"
        assert client.get("/query", params={"q": 3}).text == "3"
        assert client.get("/query", params={"q": "x"}).status_code == 422
        assert client.get("/dep").status_code == 200 and seen == ["/dep"]
