"""Schema migrations, applied in order, each in a transaction with its own record."""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("liquidity_bot")


@migrations()
def m001_observations(db: Database) -> None:
    # Every vintage is kept (revisions are new rows); `latest` is the newest vintage per date,
    # kept beside it so reads never scan the history.
    db.executescript(
        """
        CREATE TABLE observations (
            series TEXT NOT NULL, date TEXT NOT NULL, vintage TEXT NOT NULL,
            value REAL NOT NULL, source TEXT NOT NULL,
            PRIMARY KEY (series, date, vintage));
        CREATE TABLE latest (
            series TEXT NOT NULL, date TEXT NOT NULL, value REAL NOT NULL, vintage TEXT NOT NULL,
            PRIMARY KEY (series, date)) WITHOUT ROWID;
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL, rows INTEGER NOT NULL, data_date TEXT, error TEXT);
        CREATE INDEX fetch_log_source ON fetch_log (source, id);
        """
    )


@migrations()
def m002_alerts(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE alert_state (
            rule_id TEXT PRIMARY KEY, state TEXT NOT NULL, data_date TEXT, count INTEGER NOT NULL,
            since TEXT, last_fired_at TEXT, regime TEXT, pending_regime TEXT, value REAL, updated_at TEXT NOT NULL);
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY, rule_id TEXT NOT NULL, topic TEXT NOT NULL,
            severity TEXT NOT NULL, state TEXT NOT NULL, data_date TEXT, value REAL,
            from_regime TEXT, to_regime TEXT, text TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE INDEX alert_events_topic ON alert_events (topic, id);
        """
    )


@migrations()
def m003_chats(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE chats (
            platform TEXT NOT NULL, chat_id TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'private',
            title TEXT, active INTEGER NOT NULL DEFAULT 1, inactive_reason TEXT,
            created_at TEXT NOT NULL, PRIMARY KEY (platform, chat_id));
        CREATE TABLE subscriptions (
            platform TEXT NOT NULL, chat_id TEXT NOT NULL, topic TEXT NOT NULL,
            created_at TEXT NOT NULL, PRIMARY KEY (platform, chat_id, topic));
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, platform TEXT NOT NULL,
            chat_id TEXT NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, last_error TEXT,
            created_at TEXT NOT NULL, sent_at TEXT, UNIQUE (event_id, platform, chat_id));
        CREATE INDEX outbox_pending ON outbox (status, platform, id);
        """
    )


@migrations()
def m004_event_payload(db: Database) -> None:
    # The structured message (JSON) beside its text, so each adapter can lay it out natively.
    db.execute("ALTER TABLE alert_events ADD COLUMN payload TEXT")


@migrations()
def m005_outbox_chat_index(db: Database) -> None:
    # due_outbox asks, for every due row, whether an earlier row of the same chat is waiting.
    db.execute("CREATE INDEX outbox_chat ON outbox (platform, chat_id, status, id)")


@migrations()
def m006_rule_hash_and_meta(db: Database) -> None:
    # A rule's definition hash beside its state: a changed rule is replayed (silently) from
    # scratch, an unchanged one continues incrementally. `meta` holds small facts such as when
    # rules were last evaluated.
    db.execute("ALTER TABLE alert_state ADD COLUMN rule_hash TEXT")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m600_release_seen(db: Database) -> None:
    # --- polling --- When each release's new data first appeared (one row per release and ET day),
    # and the longest it can have waited for us (time since the last poll that found nothing).
    db.executescript(
        """
        CREATE TABLE release_seen (
            release TEXT NOT NULL, day TEXT NOT NULL, seen_at TEXT NOT NULL, delay_seconds REAL,
            PRIMARY KEY (release, day));
        """
    )
