"""Database access: async SQLAlchemy 2, a unit of work per request with the tenant set per
transaction, row-level security helpers for migrations, and a typed repository base."""

from hongyun_platform.db.database import Database, UnitOfWork
from hongyun_platform.db.repository import Page, Repository

__all__ = ["Database", "Page", "Repository", "UnitOfWork"]
