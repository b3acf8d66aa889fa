"""Launching the web UI: address, login, offline theme, concurrency.

Binds 127.0.0.1:7860 by default. Binding any other address without a login logs a
warning. The theme uses the system's fonts, so the page fetches nothing from outside
hosts (Gradio's default theme loads Google Fonts).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import ConfigError, Settings, load_settings
from index.offline import enable_offline_mode

from .service import DocqaService

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

#: Concurrent event handlers per event (answers take milliseconds; 32 parallel callers are served at once).
CONCURRENCY = 32


@dataclass
class RunningUI:
    """A launched web UI (``block=False``): its address and how to stop it."""

    url: str
    app: gr.Blocks
    service: DocqaService

    def close(self) -> None:
        self.app.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks that start their own server)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, settings: Settings) -> str | None:
    """The warning to log when the UI is reachable from other machines without a login."""
    if is_loopback(host) or settings.ui_auth is not None:
        return None
    return (
        f"the web UI listens on {host}, reachable from other machines, with no login: anyone who can reach it can read "
        "the corpus and upload files. Set DOCQA_UI_USERNAME and DOCQA_UI_PASSWORD, or bind 127.0.0.1"
    )


def _theme() -> Any:
    import gradio as gr

    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(font=system, font_mono=mono)


def serve(
    corpus: Path | str | None = None,
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    block: bool = True,
    service: DocqaService | None = None,
) -> RunningUI:
    """Start the web UI; with ``block`` it serves until interrupted, else it returns the running app."""
    enable_offline_mode()
    settings = settings or load_settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["ui_host"] = host
    if port is not None:
        overrides["ui_port"] = port
    if overrides:
        settings = load_settings(**{**settings.model_dump(), **overrides})
    warning = exposure_warning(settings.ui_host, settings)
    if warning:
        logger.warning(warning)
    # Gradio keeps uploads in its temp folder before we copy them into the corpus: keep that under DOCQA_HOME too.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.home.expanduser().resolve() / "ui-uploads"))
    service = service or DocqaService(corpus, settings)

    from .app import CHIP_JS, CSS, build_app

    app = build_app(service)
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=1024)
    try:
        app.launch(
            server_name=settings.ui_host,
            server_port=settings.ui_port,
            auth=settings.ui_auth,
            auth_message="docqa: log in with DOCQA_UI_USERNAME / DOCQA_UI_PASSWORD",
            theme=_theme(),
            css=CSS,
            js=CHIP_JS,
            ssr_mode=False,
            prevent_thread_lock=True,
            inbrowser=False,
            quiet=True,
            show_error=False,
            max_file_size=settings.max_upload_bytes,
            max_threads=CONCURRENCY + 8,
            pwa=False,
            mcp_server=False,
            footer_links=[],
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the web UI on {settings.ui_host}:{settings.ui_port} ({exc}); "
            "choose another port with --port or DOCQA_UI_PORT"
        ) from exc
    threading.Thread(target=service.warm_up, name="docqa-warm-up", daemon=True).start()
    shown = settings.ui_host if ":" not in settings.ui_host else f"[{settings.ui_host}]"
    running = RunningUI(url=f"http://{shown}:{app.server_port}/", app=app, service=service)
    if block:
        print(f"docqa web UI: {running.url}  (corpus {service.corpus}; Ctrl-C stops it)", flush=True)
        try:
            app.block_thread()
        finally:
            app.close()
    return running
