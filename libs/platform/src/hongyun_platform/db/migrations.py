"""Running a service's Alembic migrations programmatically (the `migrate` command / Helm hook Job)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(script_location: Path, url: str, app_role: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["app_role"] = app_role
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(script_location: Path, url: str, *, app_role: str, schema: str) -> None:
    command.upgrade(alembic_config(script_location, url, app_role, schema), "heads")
