"""Storage: SQLAlchemy tables, Alembic migrations, and the one ``Database`` handle."""

from __future__ import annotations

from qharbor.store.database import Database

__all__ = ["Database"]
