"""Alembic environment for the privtrain catalog.

Run programmatically by :meth:`privtrain.catalog.Catalog.upgrade`, which passes an open
connection (already inside a transaction) in ``config.attributes["connection"]``. For
development (``alembic revision --autogenerate``) an ``sqlalchemy.url`` main option may be
given instead; the engine is then built through :class:`~privtrain.catalog.Catalog` so the
SQLite pragmas and transaction handling are the same.
"""

from __future__ import annotations

from alembic import context

from privtrain.catalog._models import Base
from privtrain.errors import ConfigError

config = context.config
target_metadata = Base.metadata


def _configure(connection: object) -> None:
    is_sqlite = getattr(getattr(connection, "dialect", None), "name", "") == "sqlite"
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        transactional_ddl=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from privtrain.catalog._db import Catalog

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise ConfigError("alembic env: no connection given and no sqlalchemy.url configured")
    catalog = Catalog(url)
    try:
        with catalog._write_engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        catalog.close()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
