"""Flask extensions, created unbound; create_app binds them."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING)


class ClinicSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose page number from the query string is bounded (tracker.bounds): a
    page far past the last is an empty page, never an offset the database cannot hold."""

    def paginate(self, select, *, page=None, **kwargs):
        from .bounds import requested_page

        return super().paginate(select, page=page or requested_page(), **kwargs)


db = ClinicSQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
