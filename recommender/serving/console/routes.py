"""The console's routes: parse the request, call :mod:`views` in the thread pool, render.

Pages need a session (else a redirect to the login page); actions need a session and the
form's CSRF token (else 401 / 403). Every answer is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from recommender.delivery.demand import DEFAULT_THRESHOLD
from recommender.errors import ModelNotLoadedError, UnknownIdError
from recommender.serving.console import charts, views
from recommender.serving.console.i18n import (
    choose_language,
    translator,
    value_translator,
)
from recommender.serving.console.session import (
    COOKIE,
    PATH,
    ActionSession,
    PageSession,
    Session,
    sessions_of,
)
from recommender.serving.schemas import LearnerId

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["zip"] = zip
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(prefix=PATH, include_in_schema=False)


def _lang(request: Request) -> str:
    return choose_language(request.query_params.get("lang"),
                           request.headers.get("accept-language"))


def _render(request: Request, template: str, session: Session | None, status: int = 200,
            **context: Any) -> HTMLResponse:
    lang = _lang(request)

    def url(path: str, **params: object) -> str:
        query = {k: v for k, v in params.items() if v is not None}
        query["lang"] = lang
        return f"{PATH}{path}?{urlencode(query)}"

    other = "en" if lang == "zh" else "zh"
    switch = f"{request.url.path}?{urlencode({**request.query_params, 'lang': other})}"
    return TEMPLATES.TemplateResponse(request, template, {
        "t": translator(lang), "v": value_translator(lang), "lang": lang, "url": url,
        "switch_url": switch, "session": session, "page": template.removesuffix(".html"),
        **context}, status_code=status, headers=NO_STORE)


def _unavailable(request: Request, session: Session) -> HTMLResponse:
    """A page that needs the served model, while none is served (503, said in the page)."""
    return _render(request, "unavailable.html", session, status=503)


def _options(request: Request) -> views.ConsoleOptions:
    return request.app.state.console_options


def _runtime(request: Request):
    return request.app.state.runtime


async def _flush(request: Request) -> None:
    tally = getattr(request.app.state, "console_tally", None)
    if tally is not None:
        await run_in_threadpool(tally.flush, _runtime(request).store)


# --- login ------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", None, failed=False,
                   minutes=sessions_of(request).lifetime_seconds // 60)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, key: Annotated[str, Form()] = "") -> Response:
    sessions = sessions_of(request)
    role = sessions.role_of(key)
    if role is None:
        return _render(request, "login.html", None, status=401, failed=True,
                       minutes=sessions.lifetime_seconds // 60)
    cookie, _ = sessions.issue(role)
    response = RedirectResponse(f"{PATH}?lang={_lang(request)}", status_code=303,
                                headers=NO_STORE)
    response.set_cookie(COOKIE, cookie, **sessions.cookie_options())  # type: ignore[arg-type]
    return response


@router.post("/logout")
async def logout(request: Request, session: ActionSession) -> Response:
    response = RedirectResponse(f"{PATH}/login?lang={_lang(request)}", status_code=303,
                                headers=NO_STORE)
    response.delete_cookie(COOKIE, path=PATH)
    return response


# --- pages ------------------------------------------------------------------------------------

@router.get("", response_class=HTMLResponse)
async def overview_page(request: Request, session: PageSession) -> HTMLResponse:
    data = await run_in_threadpool(views.overview, _runtime(request),
                                   request.app.state.metrics_dir,
                                   request.app.state.console_started)
    t = translator(_lang(request))
    hourly = charts.bars([h for h, _ in data["per_hour"]], [n for _, n in data["per_hour"]],
                         title=t("overview.per_hour"), ylabel=t("overview.events"),
                         width=10.0, height=2.6, counts=True)
    return _render(request, "overview.html", session, data=data, hourly=hourly)


@router.get("/learners", response_class=HTMLResponse)
async def learners_page(request: Request, session: PageSession,
                        q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    found = await run_in_threadpool(views.search_learners, _runtime(request), q) if q else []
    return _render(request, "learners.html", session, q=q, found=found)


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
async def learner_page(
    request: Request, session: PageSession, learner_id: LearnerId,
    why_not: Annotated[str | None, Query(max_length=200)] = None,
    sensitive: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    try:
        page = await run_in_threadpool(views.learner_page, _runtime(request), learner_id,
                                       why_not=why_not, show_sensitive=sensitive)
    except UnknownIdError:
        return _render(request, "learners.html", session, status=404, q=learner_id,
                       found=[], unknown=True)
    except ModelNotLoadedError:
        return _unavailable(request, session)
    return _render(request, "learner.html", session, p=page, why_not=why_not or "")


@router.get("/equity", response_class=HTMLResponse)
async def equity_page(request: Request, session: PageSession) -> HTMLResponse:
    try:
        data = await run_in_threadpool(views.equity, _runtime(request), _options(request),
                                       getattr(request.app.state, "metrics_dir", None))
    except ModelNotLoadedError:
        return _unavailable(request, session)
    t, v = translator(_lang(request)), value_translator(_lang(request))
    plots = []
    breakdown = data["breakdown"]
    if breakdown is not None:
        metric = _main_metric(breakdown)
        for attribute in views.EQUITY_ATTRIBUTES:
            part = breakdown[(breakdown["attribute"] == attribute)
                             & (breakdown["metric"] == metric)]
            if part.empty:
                continue
            plots.append(charts.bars(
                [v(attribute, x) for x in part["value"]], part["mean"].tolist(),
                title=f"{t('attr.' + attribute)}: {metric}", ylabel=metric))
        data["metric"] = metric
    for attribute in ("provider_type", "mode"):
        rows = [r for r in data["exposure"] if r.attribute == attribute]
        if rows:
            plots.append(charts.paired_bars(
                [v(attribute, r.value) for r in rows], [r.share for r in rows],
                [r.catalog_share for r in rows],
                names=(t("equity.slot_share"), t("equity.catalog_share")),
                title=t("attr." + attribute)))
    for attribute, rows in data["served_shares"].items():
        plots.append(charts.paired_bars(
            [v(attribute, value) for value, _, _ in rows], [share for _, share, _ in rows],
            [catalog for _, _, catalog in rows],
            names=(t("equity.served_share"), t("equity.catalog_share")),
            title=t("equity.served_title", attribute=t("attr." + attribute))))
    return _render(request, "equity.html", session, data=data, plots=plots)


def _main_metric(breakdown) -> str:
    metrics = list(dict.fromkeys(breakdown["metric"]))
    for preferred in ("ndcg_at_10", "recall_at_10"):
        if preferred in metrics:
            return preferred
    return metrics[0] if metrics else ""


@router.get("/catalog", response_class=HTMLResponse)
async def catalog_page(request: Request, session: PageSession,
                       days: Annotated[int, Query(ge=1, le=365)] = 30,
                       threshold: Annotated[float, Query(gt=0, le=1)] = DEFAULT_THRESHOLD,
                       ) -> HTMLResponse:
    await _flush(request)
    try:
        data = await run_in_threadpool(views.catalog_gaps, _runtime(request), days, threshold)
    except ModelNotLoadedError:
        return _unavailable(request, session)
    return _render(request, "catalog.html", session, data=data)


@router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request, session: PageSession) -> HTMLResponse:
    data = await run_in_threadpool(views.models, _options(request))
    return _render(request, "models.html", session, data=data, message=None, refused=None)


@router.post("/models/promote", response_class=HTMLResponse)
async def promote(
    request: Request, session: ActionSession,
    version: Annotated[str, Form(max_length=20)], alias: Annotated[str, Form(max_length=100)],
    force: Annotated[bool, Form()] = False, confirm: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    t = translator(_lang(request))
    options = _options(request)
    message, refused, status = None, None, 200
    if not session.is_admin:
        message, status = t("models.admin_only"), 403
    elif force and confirm.strip() != version:
        message, status = t("models.confirm_wrong"), 400
    else:
        from recommender.registry import PromotionRefusedError

        try:
            done = await run_in_threadpool(views.promote, options, version, alias, force)
            message = t("models.done", alias=done.alias, version=done.version) + " " + \
                t("models.reload")
        except PromotionRefusedError as error:
            refused, status = {"version": version, "alias": alias, "reason": str(error)}, 409
    data = await run_in_threadpool(views.models, options)
    return _render(request, "models.html", session, status=status, data=data,
                   message=message, refused=refused)


@router.get("/experiments", response_class=HTMLResponse)
async def experiments_page(request: Request, session: PageSession) -> HTMLResponse:
    data = await run_in_threadpool(views.experiments, _options(request))
    return _render(request, "experiments.html", session, data=data)


@router.get("/experiments/runs/{run_id}/plots/{name}")
async def experiment_plot(request: Request, session: PageSession,
                          run_id: str, name: str) -> Response:
    if not run_id.isalnum():
        raise HTTPException(status_code=404, detail="no such plot")
    body = await run_in_threadpool(views.plot_file, _options(request), run_id, name)
    if body is None:
        raise HTTPException(status_code=404, detail="no such plot")
    media = "image/svg+xml" if name.endswith(".svg") else "image/png"
    return Response(body, media_type=media, headers={"Cache-Control": "private, max-age=300"})




