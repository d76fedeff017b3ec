"""`hazard serve`: the web face (web/) over HTTP, served by uvicorn until SIGTERM or Ctrl-C.

FastAPI and uvicorn are imported here, inside the command: `hazard --help` and every other command load neither.
"""
from __future__ import annotations

import click

READY = "listening on http://{host}:{port}"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface; put TLS in front, see docs/web.md).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The TCP port (0: any free one, said in the `listening on` line).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the port (and the database; on SQLite one writer at a time).")
@click.option("--notify", "deliver", is_flag=True, help="Deliver notifications too: a thread in each worker, a round "
                                                        "every 10 seconds (as `hazard notify` does).")
@click.pass_context
def serve(ctx, host, port, workers, deliver):
    """Serve the HTTP API (/api/v1) and /healthz on the database of --db / HAZARD_DB until stopped.

    With --notify each worker also delivers the notifications' e-mails and webhooks (docs/notifications.md).
    Prints `listening on http://HOST:PORT` on stderr once it accepts connections; stops cleanly on SIGTERM or
    Ctrl-C (requests under way finish first). Callers authenticate with `Authorization: Bearer TOKEN`, the
    tokens of `hazard user token` (docs/web.md).

    \b
    Example:
      hazard --db postgresql+psycopg://hazard@db/hazard serve --host 0.0.0.0 --port 8000 --workers 4
    """
    import os
    import signal
    import sys

    app = ctx.obj
    if app.now_text:
        raise click.UsageError("the server runs on the real clock: drop --now")
    _check_database(app.engine.queries.schema_revision(), app.db)  # before any port is opened
    app.close()
    os.environ["HAZARD_DB"] = app.db  # each worker opens its own engine on it (web.app.from_environment)
    os.environ["HAZARD_SERVE_NOTIFY"] = "1" if deliver else "0"

    import uvicorn

    config = uvicorn.Config("web.app:from_environment", factory=True, host=host, port=port, workers=workers,
                            log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    sock = config.bind_socket()
    ready = READY.format(host=_shown_host(host), port=sock.getsockname()[1])
    # uvicorn hands a signal it stopped for on to the handler it found; ours ends the process with status 0.
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    try:
        if workers > 1:
            supervisor = _supervisor_class()(config, [sock], ready)
            supervisor.run()
            if not supervisor.started:
                sys.exit(8)
        else:
            server = _Server(config, ready)
            server.run(sockets=[sock])
            if not server.started:
                sys.exit(8)
    except (KeyboardInterrupt, _Stop):
        pass
    click.echo("stopped", err=True)


def _check_database(revision: dict, url: str) -> None:
    """A database that is not there (raised by the read), has no tables, or an older layout: exit 8 now, with the
    command line's hint, rather than a server answering 503 to everyone."""
    from engine.domain.errors import StoreError
    if revision["revision"] is None:
        raise StoreError(f"the database at {url} has no tables", rule="no-tables")
    if not revision["current"]:
        raise StoreError(f"the database at {url} has the layout of an older release (revision {revision['revision']}, "
                         f"this release writes {revision['head']})", rule="old-schema")


class _Stop(Exception):
    pass


def _stopped(_signum, _frame):
    raise _Stop()


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _server_class():
    import uvicorn

    class ReadyServer(uvicorn.Server):
        """Says `listening on ...` once the socket accepts connections and the application has started."""

        def __init__(self, config, ready: str):
            super().__init__(config)
            self.ready = ready

        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                click.echo(self.ready, err=True)

    return ReadyServer


def _supervisor_class():
    from uvicorn.supervisors import Multiprocess

    class ReadySupervisor(Multiprocess):
        """Says `listening on ...` once every worker has started serving."""

        def __init__(self, config, sockets, ready: str):
            super().__init__(config, sockets)
            self.ready, self.started = ready, False

        def init_processes(self) -> None:
            super().init_processes()
            if all(p.wait_until_ready(60, self.should_exit) for p in self.processes):
                self.started = True
                click.echo(self.ready, err=True)

    return ReadySupervisor


def _Server(config, ready: str):  # noqa: N802 - builds the class on first use (uvicorn is imported lazily)
    return _server_class()(config, ready)
