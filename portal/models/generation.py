"""The data generation: one row whose value grows with every committed write transaction
(services.figures_cache bumps it inside the transaction, so it becomes visible with the data).
A figure computed while the value was g is good for as long as the value stays g."""
from sqlalchemy import BigInteger, DDL, event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

ROW_ID = 1


class DataGeneration(db.Model):
    __tablename__ = "data_generation"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# the one row, also where the tables are made without migrations (the tests' create_all)
event.listen(DataGeneration.__table__, "after_create",
             DDL(f"INSERT INTO data_generation (id, value) VALUES ({ROW_ID}, 0)"))
