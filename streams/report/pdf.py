"""HTML → PDF with headless Chromium (Debian's ``/usr/bin/chromium``), started and stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-pdf-header-footer", "--virtual-time-budget=15000",
)  # fmt: skip


def _stop_group(pid: int) -> None:
    """End what Chromium left behind (its helpers share the session we started it in)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def html_to_pdf(html_file: Path, pdf_file: Path, chromium: Path = CHROMIUM, timeout: float = 180.0) -> Path:
    """Print ``html_file`` to ``pdf_file``; :class:`RuntimeError` saying what went wrong."""
    if not chromium.is_file():
        raise RuntimeError(f"PDF needs Chromium at {chromium} (apt-get install chromium); --format html works without")
    pdf_file = pdf_file.resolve()
    pdf_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="entbrain-chromium-") as profile:
        proc = subprocess.Popen(  # noqa: S603 - a fixed binary, our own arguments
            [str(chromium), *ARGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_file}",
             html_file.resolve().as_uri()],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc.pid)
            proc.communicate()
            raise RuntimeError(f"Chromium did not print the report within {timeout:.0f} s") from None
        finally:
            _stop_group(proc.pid)
    if proc.returncode != 0 or not pdf_file.is_file():
        last = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"Chromium could not print the report (exit {proc.returncode}): {last[0][:200]}")
    return pdf_file
