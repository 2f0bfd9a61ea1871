"""One helper decides: an htmx request gets the partial, anything else the full page."""
from flask import make_response, redirect, render_template, request


def is_partial() -> bool:
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(page, partial=None, status=200, **context):
    template = partial if (partial and is_partial()) else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url, status=303):
    """Redirect that works for htmx (HX-Redirect) and plain requests alike."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, status)
