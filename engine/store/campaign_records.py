"""Campaign definitions (专项整治) in the database, versioned by content hash as workflow definitions are.

A SQLModel record: only `hazard campaign` and a campaign's bulletin touch it, so the ORM's convenience costs
nothing that matters (engine/store/tables.py says why the hot tables are Core). `Store.create_schema` creates
it with SQLModel's metadata. Installing the text of the newest version again is a no-op; any other text is
the next version (reverting a file to an older text makes a new version with that text).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, select

from engine.domain.errors import NotFound
from engine.domain.events import text_hash
from engine.store.tables import UTCDateTime


class CampaignVersion(SQLModel, table=True):
    __tablename__ = "campaign_version"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_campaign_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: int
    title: str
    content_hash: str
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    file_name: str
    installed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def _newest(session: Session, name: str) -> CampaignVersion | None:
    return session.exec(select(CampaignVersion).where(CampaignVersion.name == name)
                        .order_by(CampaignVersion.version.desc()).limit(1)).first()


def install(conn: Connection, *, name: str, title: str, text: str, file_name: str,
            now: datetime) -> tuple[CampaignVersion, bool]:
    """Store `text` as the next version of campaign `name` unless it is the newest version's text."""
    digest = text_hash(text)
    with Session(bind=conn) as session:
        newest = _newest(session, name)
        if newest is not None and newest.content_hash == digest:
            return _detached(newest), False
        record = CampaignVersion(name=name, version=(newest.version if newest else 0) + 1, title=title,
                                 content_hash=digest, source_text=text, file_name=file_name, installed_at=now)
        session.add(record)
        session.flush()
        return _detached(record), True


def get(conn: Connection, name: str, version: int | None = None) -> CampaignVersion:
    with Session(bind=conn) as session:
        if version is None:
            found = _newest(session, name)
        else:
            found = session.exec(select(CampaignVersion).where(CampaignVersion.name == name,
                                                               CampaignVersion.version == version)).first()
        if found is None:
            what = f"campaign '{name}'" + (f" version {version}" if version is not None else "")
            raise NotFound(f"no {what} installed", kind="campaign", key=name, rule="no-campaign")
        return _detached(found)


def newest_versions(conn: Connection) -> list[tuple[CampaignVersion, int]]:
    """The newest version of every campaign, by name, with how many versions it has."""
    with Session(bind=conn) as session:
        rows = session.exec(select(CampaignVersion).order_by(CampaignVersion.name, CampaignVersion.version)).all()
        newest: dict[str, CampaignVersion] = {}
        for row in rows:
            newest[row.name] = row
        return [(_detached(row), row.version) for row in newest.values()]


def _detached(record: CampaignVersion) -> CampaignVersion:
    """A plain copy that outlives the session (the caller's transaction owns the row)."""
    return CampaignVersion(**record.model_dump())
