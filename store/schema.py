"""The gallery file's schema, versioned with `PRAGMA user_version`: each step runs once, in one transaction."""

from __future__ import annotations

import aiosqlite

MIGRATIONS: list[str] = [
    # 1: celebrities and their photos
    """
    CREATE TABLE celebrity (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
    CREATE TABLE photo (
        id INTEGER PRIMARY KEY,
        celebrity_id INTEGER NOT NULL REFERENCES celebrity(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL UNIQUE,
        embedding BLOB NOT NULL CHECK (length(embedding) = 512),
        thumbnail BLOB NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        added_at REAL NOT NULL
    );
    CREATE INDEX photo_by_celebrity ON photo(celebrity_id);
    """,
    # 2: selfies accepted but not yet answered (Telegram file ids only, never the photo)
    """
    CREATE TABLE job (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        UNIQUE (chat_id, message_id)
    );
    """,
    # 3: group games: the running round per group, its players' best scores (names and numbers only,
    # never a photo), and each group's winners
    """
    CREATE TABLE game_round (
        chat_id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL,
        starter_id INTEGER NOT NULL,
        celebrity TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '',
        ends_at REAL NOT NULL
    );
    CREATE TABLE game_entry (
        chat_id INTEGER NOT NULL REFERENCES game_round(chat_id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        player TEXT NOT NULL,
        similarity REAL NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE TABLE game_winner (
        chat_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        player TEXT NOT NULL,
        wins INTEGER NOT NULL DEFAULT 0,
        best_similarity REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (chat_id, user_id)
    );
    """,
    # 4: what the gallery knows of each celebrity and photo beyond the face: other names (aliases, in any
    # script), the Wikidata item, each photo's credit (author, licence, the page it came from) for reuse
    # with attribution, admins' audit decisions, and values fitted on the gallery (its calibration)
    """
    ALTER TABLE celebrity ADD COLUMN wikidata TEXT;
    CREATE UNIQUE INDEX celebrity_by_wikidata ON celebrity(wikidata) WHERE wikidata IS NOT NULL;
    CREATE TABLE alias (
        celebrity_id INTEGER NOT NULL REFERENCES celebrity(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX alias_by_celebrity ON alias(celebrity_id);
    ALTER TABLE photo ADD COLUMN author TEXT NOT NULL DEFAULT '';
    ALTER TABLE photo ADD COLUMN license TEXT NOT NULL DEFAULT '';
    ALTER TABLE photo ADD COLUMN license_url TEXT NOT NULL DEFAULT '';
    ALTER TABLE photo ADD COLUMN source_page TEXT NOT NULL DEFAULT '';
    ALTER TABLE photo ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE distinct_pair (
        first_id INTEGER NOT NULL REFERENCES celebrity(id) ON DELETE CASCADE,
        second_id INTEGER NOT NULL REFERENCES celebrity(id) ON DELETE CASCADE,
        PRIMARY KEY (first_id, second_id),
        CHECK (first_id < second_id)
    );
    CREATE TABLE gallery_value (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]


class SchemaTooNew(RuntimeError):
    """The file was written by a newer lookalike."""


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring the schema up to date; returns the version. The connection must be in autocommit mode."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    if version > len(MIGRATIONS):
        raise SchemaTooNew(f"gallery schema version {version} is newer than this program ({len(MIGRATIONS)})")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        statements = [s.strip() for s in script.split(";") if s.strip()]
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
