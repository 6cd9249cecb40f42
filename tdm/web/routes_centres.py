"""A centre's pages: files received, each file's report, the scorecard, and the drop zone."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse
from starlette.routing import Route

from ingestion.reports import write_scorecard
from tdm.status import collect_status
from tdm.web.auth import checked_form, render, require, require_centre
from tdm.web.data import centre_files, file_row, query_summary
from tdm.web.dropzone import UploadRefused, ingest_uploaded, receive_upload, too_large
from tdm.web.security import Refused, safe_child

REPORT_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
                ".json": "application/json"}


async def centres_overview(request: Request):
    require(request, "coordinator")
    settings = request.app.state.settings
    status = await run_in_threadpool(collect_status, settings)
    counts = {r["centre_id"]: r for r in status.files.to_dict("records")} if len(status.files) else {}
    queries = {r["centre_id"]: r for r in await run_in_threadpool(query_summary, settings)}
    rows = [{"centre_id": c, **counts.get(c, {}), "open_queries": queries.get(c, {}).get("open", 0),
             "answered_queries": queries.get(c, {}).get("answered", 0)} for c in request.app.state.centres()]
    return render(request, "centres.html", centres=rows, last_publication=status.last_publication)


async def centre_page(request: Request):
    centre = request.path_params["centre"]
    require_centre(request, centre)
    files = await run_in_threadpool(centre_files, request.app.state.settings, centre)
    summary = next((r for r in await run_in_threadpool(query_summary, request.app.state.settings)
                    if r["centre_id"] == centre), {})
    return render(request, "centre.html", centre=centre, files=files, open_queries=summary.get("open", 0),
                  max_upload_mb=request.app.state.max_upload >> 20)


async def file_page(request: Request):
    centre = request.path_params["centre"]
    require_centre(request, centre)
    row = await run_in_threadpool(file_row, request.app.state.settings, centre, request.path_params["file_id"])
    if row is None:
        raise Refused(404, "no such file for this centre", code="not_found")
    return render(request, "file.html", centre=centre, f=row)


async def report_file(request: Request):
    """A file of ``reports/<centre>/`` (a file's HTML/CSV/JSON report, the index, the scorecard)."""
    centre = request.path_params["centre"]
    require_centre(request, centre)
    path = safe_child(request.app.state.settings.reports / centre, request.path_params["name"],
                      tuple(REPORT_TYPES))
    media = REPORT_TYPES[path.suffix.lower()]
    attach = path.suffix.lower() != ".html"
    return FileResponse(path, media_type=media, filename=path.name if attach else None,
                        content_disposition_type="attachment" if attach else "inline")


async def scorecard(request: Request):
    """The centre's scorecard, written fresh from the snapshot (``tdm scorecard`` does the same)."""
    centre = request.path_params["centre"]
    require_centre(request, centre)
    settings = request.app.state.settings
    if not lake_exists(settings.lake):
        raise Refused(503, "the warehouse has no data yet", code="no_snapshot", hint="run 'tdm init'")
    path = await run_in_threadpool(write_scorecard, settings, centre)
    return FileResponse(path, media_type="text/html; charset=utf-8")


def _bounded_receive(receive, limit: int):
    """``receive`` that refuses a request body past ``limit`` bytes (also when no length was declared)."""
    seen = 0

    async def bounded():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise too_large(limit)
        return message

    return bounded


async def upload(request: Request):
    """The drop zone: the export goes into this centre's inbox and through ingestion; then its page."""
    centre = request.path_params["centre"]
    session = require_centre(request, centre)
    limit = request.app.state.max_upload
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large(limit)
    bounded = Request(request.scope, _bounded_receive(request.receive, limit + 64 * 1024))  # + form fields
    form = await checked_form(bounded, session, max_files=1, max_fields=4)
    item = form.get("export")
    if item is None or isinstance(item, str):
        raise UploadRefused("no file was sent", code="upload_no_file",
                            hint="choose the export with 'Choose file' or drop it on the zone, then press Upload")

    async def chunks():
        while block := await item.read(1 << 20):
            yield block

    settings = request.app.state.settings
    try:
        path = await receive_upload(settings, centre, item.filename or "", chunks(), limit)
    finally:
        await item.close()
    committed = await run_in_threadpool(ingest_uploaded, settings, centre, path)
    if committed.file_id is not None:
        return RedirectResponse(f"/centres/{centre}/files/{committed.file_id}", status_code=303)
    status = {"not_found": 409, "already_processed": 409, "not_ready": 503}.get(committed.status, 500)
    return render(request, "upload_failed.html", status=status, centre=centre, committed=committed)


routes = [
    Route("/centres", centres_overview),
    Route("/centres/{centre}", centre_page),
    Route("/centres/{centre}/files/{file_id:int}", file_page),
    Route("/centres/{centre}/reports/{name}", report_file),
    Route("/centres/{centre}/scorecard", scorecard),
    Route("/centres/{centre}/upload", upload, methods=["POST"]),
]
