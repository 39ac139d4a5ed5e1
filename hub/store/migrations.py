"""The schema's history: numbered forward migrations, applied in order when a store opens.

Migration n (counting from 1) is `MIGRATIONS[n - 1]`; a store records the number of the last
one applied as its schema version. A migration is never edited or removed once released: a
change to the schema is a new function appended to the list (tables, indexes, reshaped
documents). The embedded store runs the pending ones on the data in memory and writes a new
snapshot only when all of them succeeded, so a crash or an error leaves the data as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.store.base import Document, StoreError
from hub.store.tables import Tables, check_table, clean


class Schema:
    """What a migration may change: every table's documents (by id, to edit in place) and
    the declared indexes."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def documents(self, table: str) -> dict[str, Document]:
        """A table's documents by id, to read and change (a document keeps its id)."""
        check_table(table)
        return self._tables.docs.setdefault(table, {})

    def drop_table(self, table: str) -> None:
        """Remove a table, its documents and its indexes."""
        check_table(table)
        self._tables.docs.pop(table, None)
        self._tables.indexes.pop(table, None)

    def add_index(self, table: str, field: str, *, unique: bool = False) -> None:
        """Keep a table's documents findable by a field (one per non-null value if unique)."""
        check_table(table)
        self._tables.add_index(table, field, unique)

    def drop_index(self, table: str, field: str) -> None:
        """Stop indexing a field."""
        self._tables.indexes.get(table, {}).pop(field, None)


Migration = Callable[[Schema], None]


def m1_initial(schema: Schema) -> None:
    """The first schema: tables are made on first use; nothing is indexed yet."""


def m2_accounts(schema: Schema) -> None:
    """Console accounts (hub/auth/accounts.py) are found by email, and one email is one account."""
    schema.add_index("accounts", "email", unique=True)


def m3_console(schema: Schema) -> None:
    """Sessions and invitation links are found by the hash of their token (hub/auth/), and all
    of an account's by its id; the audit log (hub/audit.py) is read newest first and filtered
    by actor and action."""
    for table in ("sessions", "invitations"):
        schema.add_index(table, "token_hash", unique=True)
        schema.add_index(table, "account_id")
    schema.add_index("audit", "actor")
    schema.add_index("audit", "action")


def m4_push(schema: Schema) -> None:
    """Push alerts (hub/push/): a subscription is found by the hash of its token and by its
    endpoint (one each), and by corridor for targeting; alerts by state, author and Web Push
    topic; the outbox's deliveries by alert, subscription and state."""
    schema.add_index("subscriptions", "token_hash", unique=True)
    schema.add_index("subscriptions", "endpoint", unique=True)
    schema.add_index("subscriptions", "corridor")
    schema.add_index("alerts", "status")
    schema.add_index("alerts", "account_id")
    schema.add_index("alerts", "push_topic")
    schema.add_index("deliveries", "alert_id")
    schema.add_index("deliveries", "subscription_id")
    schema.add_index("deliveries", "state")


MIGRATIONS: Sequence[Migration] = (m1_initial, m2_accounts, m3_console, m4_push)


def migrate(tables: Tables, version: int, migrations: Sequence[Migration]) -> int:
    """Apply the migrations after `version` to the tables; return the new version.

    StoreError when the data is newer than the migrations known, or a migration fails (the
    tables are then half migrated: the caller discards them)."""
    if version > len(migrations):
        raise StoreError(
            f"the data is at schema version {version}, but this hub knows only "
            f"{len(migrations)}: it was written by a newer hub"
        )
    for number, migration in enumerate(migrations[version:], start=version + 1):
        try:
            migration(Schema(tables))
            for table, docs in tables.docs.items():
                for doc_id, doc in docs.items():
                    if doc.get("id") != doc_id:
                        raise StoreError(f"{table}: document {doc_id!r} has another id field")
                    docs[doc_id] = clean(doc, f"{table}/{doc_id}")
            # A migration edits documents in place: indexes are rebuilt from what it left.
            for table, fields in tables.declared().items():
                for field, unique in fields.items():
                    tables.add_index(table, field, unique)
        except StoreError as exc:
            raise StoreError(f"migration {number} ({migration.__name__}): {exc}") from exc
        version = number
    return version
