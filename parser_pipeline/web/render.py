"""Pages from Jinja2 templates (autoescaped), the filters they use, and the assets they load.

Templates live in `web/templates`, assets in `web/static` (served at /workspace/static, each
with its version in its name so browsers may cache it; vendor/README.md lists the vendored
ones with their versions, sources, licences and checksums).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from parser_pipeline.api.views import author_url, group_url
from parser_pipeline.export.rows import comment_url, post_url
from parser_pipeline.store.names import ReviewState
from parser_pipeline.web.highlight import segments
from parser_pipeline.web.session import CSRF_FIELD, CSRF_HEADER, PREFIX, Viewer

HERE: Final = Path(__file__).resolve().parent
STATIC_DIR: Final = HERE / "static"
HTMX: Final = "vendor/htmx-2.0.11.min.js"
# A state is told by its word and a symbol as well as by its colour (never colour alone).
STATE_SYMBOLS: Final = {
    ReviewState.new: "○",
    ReviewState.in_progress: "◐",
    ReviewState.done: "✓",
    ReviewState.irrelevant: "✕",
}

templates = Jinja2Templates(directory=HERE / "templates")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def _label(match: Any) -> str:
    """What matched: a stored match's keyword, or a trial match's rule."""
    rule = getattr(match, "rule", match)
    category = f" ({rule.category})" if rule.category else ""
    return f"{'exclusion ' if rule.is_exclusion else ''}{rule.phrase}{category}"


def marked(text: str, matches: list[Any]) -> Markup:
    """A text with its matched words in <mark>, each titled with what matched it."""
    html = []
    for piece in segments(text, [(m.start, m.end, _label(m)) for m in matches]):
        if piece.marked:
            title = escape("; ".join(piece.labels))
            html.append(f'<mark title="{title}">{escape(piece.text)}</mark>')
        else:
            html.append(str(escape(piece.text)))
    return Markup("".join(html))  # noqa: S704  (every piece is escaped above)


templates.env.filters["when"] = when
templates.env.globals.update(
    prefix=PREFIX,
    csrf_field=CSRF_FIELD,
    csrf_header=CSRF_HEADER,
    htmx=HTMX,
    states=list(ReviewState),
    state_symbols=STATE_SYMBOLS,
    marked=marked,
    comment_url=comment_url,
    post_url=post_url,
    group_url=group_url,
    author_url=author_url,
)


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A template rendered for `viewer` (None on the sign-in page)."""
    return templates.TemplateResponse(
        request, name, {"viewer": viewer, **context}, status_code=status
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"
