"""A statement one repository hands another to run inside its transaction, so both commit or neither."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Write:
    sql: str
    params: dict
    rowcount: int = 0  # set when it ran: 0 when an UPDATE's condition no longer held

    def run(self, cursor) -> None:
        self.rowcount = cursor.execute(self.sql, self.params)
