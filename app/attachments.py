"""Evidence files: checked by content, stored outside static/, served through the policy.

One mechanism for every kind of owner (progress reports, checklist ticks, visits,
rectifications): an attachment names its owner by type and id and the unit it
belongs to; who may see it is whoever may see the owner."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import ServiceError
from app.extensions import db

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
OFFICE_KINDS = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ALLOWED_HINT = "允许的类型：照片（JPG、PNG、GIF、WEBP）、PDF、Word、Excel、PowerPoint、WPS 文档。"


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def sniff(data: bytes) -> str | None:
    """The real content type, from the bytes (never from the file name)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(OLE_MAGIC):
        return "application/x-ole-storage"  # .doc / .xls / .ppt / .wps
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            for prefix, (mime, _ext) in OFFICE_KINDS.items():
                if any(n.startswith(prefix) for n in names):
                    return mime
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
        return IMAGE_TYPES.get(fmt or "")
    except Exception:  # noqa: BLE001 — anything Pillow can't read is not an image
        return None


def _storage_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _thumbnail(data: bytes, target: Path) -> bool:
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((320, 320))
            img.convert("RGB").save(target, "JPEG", quality=75)
        return True
    except Exception:  # noqa: BLE001 — a missing thumbnail falls back to an icon
        return False


def check_uploads(files: list) -> list[tuple[str, bytes, str]]:
    """Read and check every upload before anything is stored: (name, bytes, type)."""
    files = [f for f in files if f is not None and getattr(f, "filename", "")]
    if len(files) > MAX_FILES:
        raise ServiceError(f"一次最多上传 {MAX_FILES} 个文件。")
    checked = []
    for f in files:
        data = f.read(MAX_FILE_BYTES + 1)
        name = os.path.basename(f.filename or "")[:255] or "未命名"
        if not data:
            raise ServiceError(f"文件“{name}”是空的。")
        if len(data) > MAX_FILE_BYTES:
            raise ServiceError(f"文件“{name}”超过 {MAX_FILE_BYTES // (1024 * 1024)} MB 的限制。")
        mime = sniff(data)
        if mime is None:
            raise ServiceError(
                f"文件“{name}”的内容不是允许的类型（按文件内容检查，而非扩展名）。{ALLOWED_HINT}"
            )
        checked.append((name, data, mime))
    return checked


def store(
    checked: list[tuple[str, bytes, str]],
    *,
    owner_type: str,
    owner_id: int,
    unit_id: int,
    actor_id: int,
    now: datetime,
) -> list[Attachment]:
    """Write checked files to the upload folder and add their rows (caller commits)."""
    out = []
    folder = _storage_dir()
    for name, data, mime in checked:
        stored = uuid.uuid4().hex
        (folder / stored).write_bytes(data)
        thumb = mime.startswith("image/") and _thumbnail(data, folder / f"{stored}.thumb.jpg")
        att = Attachment(
            owner_type=owner_type,
            owner_id=owner_id,
            unit_id=unit_id,
            original_name=name,
            stored_name=stored,
            content_type=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            has_thumbnail=bool(thumb),
            uploaded_by_id=actor_id,
            created_at=now,
        )
        db.session.add(att)
        out.append(att)
    db.session.flush()
    return out


def path_of(att: Attachment, thumbnail: bool = False) -> Path:
    suffix = ".thumb.jpg" if thumbnail else ""
    return _storage_dir() / f"{att.stored_name}{suffix}"


def for_owner(owner_type: str, owner_ids: list[int]) -> dict[int, list[Attachment]]:
    """Attachments of many owners in one query."""
    from sqlalchemy import select

    out: dict[int, list[Attachment]] = {i: [] for i in owner_ids}
    if not owner_ids:
        return out
    stmt = (
        select(Attachment)
        .where(Attachment.owner_type == owner_type, Attachment.owner_id.in_(owner_ids))
        .order_by(Attachment.id)
    )
    for att in db.session.scalars(stmt):
        out[att.owner_id].append(att)
    return out
