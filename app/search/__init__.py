"""Global search (全局搜索): one box in the top bar over items, progress reports, visits,
findings, rectifications, circulars and units — ranked, highlighted, only within what the
user may see. The index: app.search.models; its tokens: app.search.tokens; kept in step:
app.search.index; the query: app.search.queries."""

import click
from flask import Blueprint, Flask

bp = Blueprint("search", __name__, template_folder="templates")

from app.search import views  # noqa: E402, F401


def register(app: Flask) -> None:
    """The index hook, the policy's clauses, and `flask search reindex`."""
    from app.search import index, policy

    index.install()
    policy.register()

    @app.cli.group("search")
    def search_cli() -> None:
        """The search index."""

    @search_cli.command("reindex")
    def reindex_command() -> None:
        """Rebuild the whole index (after a bulk load or a restore from elsewhere)."""
        from app.extensions import db
        from app.timeutil import utcnow

        n = index.reindex(db.session.connection(), now=utcnow())
        db.session.commit()
        click.echo(f"search documents: {n}")
