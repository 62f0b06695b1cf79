"""A statement one repository hands another to run inside its transaction, so both commit or neither."""

from __future__ import annotations

from dataclasses import dataclass

from core.exceptions import JobFinished


@dataclass
class Write:
    sql: str
    params: dict
    rowcount: int = 0  # set when it ran: 0 when an UPDATE's condition no longer held
    # When it changes no row, the whole transaction is refused: the job it ends had ended already.
    required: bool = False

    def run(self, cursor) -> None:
        self.rowcount = cursor.execute(self.sql, self.params)
        if self.required and not self.rowcount:
            raise JobFinished()
