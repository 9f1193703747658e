"""Printing a file as a court office would: LibreOffice converts it to PDF, pdftotext
reads the pages. Missing tools skip the test, or fail it when REQUIRE_LIBREOFFICE=1
(CI installs them: .ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _missing(what: str) -> None:
    if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
        pytest.fail(f"{what} 不可用（REQUIRE_LIBREOFFICE=1）", pytrace=False)
    pytest.skip(f"{what} is not installed or cannot convert this file")


def printed_pages(data: bytes, suffix: str, tmp_path: Path) -> list[str]:
    """The text of each page LibreOffice prints of the file (`suffix`: ".xlsx", ".docx")."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None or shutil.which("pdftotext") is None:
        _missing("LibreOffice / pdftotext")
    src = tmp_path / f"printed{suffix}"
    src.write_bytes(data)
    proc = subprocess.run(
        [
            office,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    pdf = tmp_path / "printed.pdf"
    if proc.returncode != 0 or not pdf.exists():
        # a Calc-only installation cannot open a Word file
        _missing(f"LibreOffice ({suffix}: {proc.stdout} {proc.stderr})".strip())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return [page for page in text.stdout.split("\f") if page.strip()]
