"""Checklist items carry the same derived traffic light as every other item."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from tests import factories


def test_checklist_items_show_their_light(db, tree, login, client):
    """Due in 3 days → yellow; verified → grey (the light follows the dates, never typed in)."""
    template = factories.checklist_template()
    (checklist,) = factories.apply_checklist(None, template, tree.trib1, due=date(2026, 3, 5))
    first = template.items[0].code
    factories.set_entry(checklist, first, "verified")
    db.session.commit()
    head = factories.user("head_l", tree.trib1, ["tribunal_head"])
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        login(head)
        html = client.get(f"/checklists/{checklist.id}").get_data(as_text=True)
    assert 'data-light="yellow"' in html
    assert 'data-light="grey"' in html
    assert 'data-light="red"' not in html
