"""FastAPI baseline for GenHook's load bench (benches/load): the same job as GenHook's github source.

POST /webhook/github: verify X-Hub-Signature-256 (HMAC-SHA256 of the raw body, constant-time compare),
parse the JSON, render the same SL1 message as mappings/github.ini's pull_request line with a str
template, append the event to a SQLite queue with a synchronous (fsync'd) commit, answer 202. Like
GenHook it keeps the raw body and refuses a repeated X-GitHub-Delivery (UNIQUE index). It does not
deliver to SL1: the bench compares the receiving side, where GenHook's 202 also means "durably queued".

Served by uvicorn with two worker processes (the machine has 2 cores); the blocking SQLite commit runs
in Starlette's thread pool so it does not stall the event loop, as a FastAPI service would do it.
Environment: BENCH_GITHUB_SECRET (the hook secret), BENCH_QUEUE_DB (the SQLite file).
"""

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

SECRET = os.environ.get("BENCH_GITHUB_SECRET", "s3cret").encode()
DB_PATH = os.environ.get("BENCH_QUEUE_DB", "queue.sqlite3")

# mappings/github.ini's lines, as str templates over the payload.
TEMPLATES = {
    "pull_request": 'GitHub pull_request {action} in {repository[full_name]} #{number} '
    '"{pull_request[title]}" ({pull_request[head][ref]} -> {pull_request[base][ref]}) '
    "by {sender[login]}",
    "issues": 'GitHub issues {action} in {repository[full_name]} #{issue[number]} "{issue[title]}" '
    "by {sender[login]}",
}

_local = threading.local()


def _connection() -> sqlite3.Connection:
    """One SQLite connection per thread, in WAL mode with a full fsync on every commit."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS queue ("
            " seq INTEGER PRIMARY KEY,"
            " delivery TEXT NOT NULL UNIQUE,"
            " source TEXT NOT NULL,"
            " event TEXT NOT NULL,"
            " message TEXT NOT NULL,"
            " body BLOB NOT NULL,"
            " received REAL NOT NULL)"
        )
        _local.conn = conn
    return conn


def enqueue(delivery: str, event: str, message: str, body: bytes) -> bool:
    """Appends one event and commits; False when the delivery id was queued before."""
    conn = _connection()
    cursor = conn.execute(
        "INSERT OR IGNORE INTO queue (delivery, source, event, message, body, received)"
        " VALUES (?, 'github', ?, ?, ?, ?)",
        (delivery, event, message, body, time.time()),
    )
    return cursor.rowcount == 1


def error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/webhook/github")
async def github(request: Request) -> JSONResponse:
    body = await request.body()
    signature = request.headers.get("x-hub-signature-256", "")
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return error(401, "invalid signature")
    event = request.headers.get("x-github-event")
    delivery = request.headers.get("x-github-delivery")
    if not event or not delivery:
        return error(400, "missing X-GitHub-Event or X-GitHub-Delivery")
    try:
        payload = json.loads(body)
    except ValueError:
        return error(400, "the body is not JSON")
    template = TEMPLATES.get(event)
    if template is None:
        return error(422, f"no mapping for event {event}")
    try:
        message = template.format_map(payload)
    except (KeyError, IndexError, TypeError):
        return error(422, "the payload lacks a field of the mapping")
    queued = await run_in_threadpool(enqueue, delivery, event, message, body)
    status = "queued" if queued else "duplicate"
    return JSONResponse(
        {"id": delivery, "source": "github", "event": event, "status": status}, status_code=202
    )
