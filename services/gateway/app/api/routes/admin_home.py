"""/admin/: the staff's front door, a static page leading to the two Django admins (auth's
and payments'). It is the gateway's own page: neither service owns the other's admin, and
the page holds nothing but links, so it needs no login."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()
PAGE = Path(__file__).resolve().parents[2] / "static" / "admin.html"
PATHS = ("/admin", "/admin/")


@router.get("/admin", include_in_schema=False)
@router.get("/admin/", include_in_schema=False)
async def admin_home() -> FileResponse:
    return FileResponse(PAGE, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
