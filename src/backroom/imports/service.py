"""Receiving an import: the body goes from the request to a file on disk as it
arrives (never whole in memory), then a job row is committed and only then
enqueued, so a worker never looks for a job that isn't there yet."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.requests import Request

from backroom.db import begin_write
from backroom.errors import Unprocessable, UnsupportedMediaType
from backroom.imports.runner import KIND
from backroom.imports.schemas import ImportError_, ImportRead
from backroom.jobs import service as jobs
from backroom.jobs.models import Job, JobError
from backroom.jobs.runtime import JobRuntime

_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
}
_EXTENSIONS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
MEDIA_TYPES = ("text/csv", "application/x-ndjson", "multipart/form-data")


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


async def start(request: Request, runtime: JobRuntime, actor_id: uuid.UUID) -> Job:
    """Spool the upload, commit a queued job, enqueue it. Returns the job."""
    job_id = uuid.uuid4()
    folder = runtime.settings.uploads_dir
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / f"{job_id}.upload"
    try:
        fmt = await _receive(request, path)
        job = jobs.new_job(
            kind=KIND, created_by=actor_id,
            params={"path": str(path.resolve()), "format": fmt, "owned": True,
                    "actor_id": str(actor_id)},
        )  # fmt: skip
        job.id = job_id
        if not runtime.delivers:
            job.kicked_at = None  # for the sweep of a `backroom worker`: at once
        async with runtime.sessionmaker() as session:
            await begin_write(session)
            session.add(job)
            await session.commit()
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    await runtime.kick(job_id)
    return job


async def _receive(request: Request, path: Path) -> str:
    media_type = _media_type(request)
    if media_type == "multipart/form-data":
        return await _receive_form(request, path)
    fmt = _FORMATS.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(
            "Send the file as text/csv or application/x-ndjson, or as multipart field 'file'."
        )
    with path.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)  # to the page cache: cheaper than a thread hop per chunk
    return fmt


async def _receive_form(request: Request, path: Path) -> str:
    """Starlette spools the part to a temporary file as it parses; copy it over."""
    async with request.form(max_files=1, max_fields=5) as form:
        unknown = sorted(key for key in form if key != "file")
        if unknown:  # as for JSON bodies: a misspelt field is an error, not ignored
            raise Unprocessable.field(unknown[0][:64], "unknown field; send only 'file'")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable.field("file", "a multipart field 'file' with the file is required")
        fmt = _format_of(upload)
        await asyncio.to_thread(_copy, upload.file, path)
    return fmt


def _format_of(upload: UploadFile) -> str:
    by_type = _FORMATS.get((upload.content_type or "").split(";")[0].strip().lower())
    by_name = _EXTENSIONS.get(Path(upload.filename or "").suffix.lower())
    return by_type or by_name or "csv"


def _copy(source: BinaryIO, path: Path) -> None:
    source.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)


async def read(runtime: JobRuntime, job_id: uuid.UUID) -> ImportRead:
    async with runtime.sessionmaker() as session:
        job = await jobs.get(session, job_id, KIND)
        errors = await jobs.errors_of(session, job_id)
    return represent(job, errors)


def represent(job: Job, errors: list[JobError]) -> ImportRead:
    return ImportRead(
        id=job.id, status=job.status, format=job.params.get("format", "csv"),
        rows_processed=job.rows_processed, rows_created=job.rows_created,
        rows_updated=job.rows_updated, rows_failed=job.rows_failed,
        errors=[ImportError_(row=e.row, field=e.field, message=e.message) for e in errors],
        failure_reason=job.error, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at,
    )  # fmt: skip


async def cancel(runtime: JobRuntime, job_id: uuid.UUID) -> ImportRead:
    async with runtime.sessionmaker() as session:
        job = await jobs.cancel(session, job_id, KIND)
    if job.error == "cancelled" and job.params.get("owned"):
        # A runner that has it open keeps reading, then loses its lease at the next commit.
        await asyncio.to_thread(Path(job.params["path"]).unlink, missing_ok=True)
    return await read(runtime, job_id)
