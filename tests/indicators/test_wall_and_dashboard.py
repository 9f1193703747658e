"""The key indicators beside the task figures: the province dashboard's card and the
wall display's 审判质效 panel, for the last complete month."""

from __future__ import annotations

from datetime import date

from app.dashboard import services as display_services
from app.extensions import db
from app.indicators.values import catalogue_for, last_complete_month, save_values
from app.timeutil import local_today, utcnow
from tests import factories


def _report_last_month(ind):
    month = last_complete_month(local_today())
    by = {i.code: i for i in catalogue_for(month)}
    if not by:  # the fixture seeds 2025 and 2026; a run in a later year seeds its own
        from app.indicators.catalogue import seed_catalogue

        seed_catalogue(int(month[:4]), now=utcnow())
        db.session.flush()
        by = {i.code: i for i in catalogue_for(month)}
    save_values(
        None,
        ind.t.base1,
        month,
        [
            (by["JAL"], {"numerator": 80, "denominator": 100}),
            (by["GPFHL"], {"numerator": 1, "denominator": 100}),
        ],
        source="api",
        clear_blank=False,
        today=date(local_today().year + 1, 1, 1),
        now=utcnow(),
    )
    db.session.commit()


def test_the_wall_shows_the_key_indicators(ind, client):
    _report_last_month(ind)
    admin = factories.user("ind_wall_admin", ind.t.high, ["admin"])
    db.session.commit()
    _, raw = display_services.create_display(admin, ind.t.high, label="大厅", now=utcnow())
    db.session.commit()
    html = client.get(f"/wall/{raw}").get_data(as_text=True)
    start = html.index('data-testid="panel-indicators"')
    panel = html[start : html.index("</section>", start)]
    assert "结案率" in panel and "80.00%" in panel and "✗ 未达标" in panel  # 80 % < 90 %
    assert "1.00%" in panel and "✓ 达标" in panel
    assert "（示例）" in panel  # the seeded intervals are examples until confirmed
    assert 'data-testid="wall-quality-rate">50.0%</span>' in panel


def test_the_province_dashboard_shows_them_beside_the_task_figures(ind, as_user):
    _report_last_month(ind)
    page = as_user(ind.reviewer).get("/dashboard").get_data(as_text=True)
    card = page[page.index('data-testid="quality-figures"') :]
    assert "结案率 80.00% ✗" in card and 'data-testid="quality-rate">50.0%' in card
    # an intermediate court's dashboard has its own query budget: the card is the province's
    assert 'data-testid="quality-figures"' not in as_user(ind.inter_assigner).get("/dashboard").get_data(
        as_text=True
    )
