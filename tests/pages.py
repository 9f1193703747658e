"""Reading pages as a person does: the hidden fields a form carries (its version, and
when it was loaded), to post them back later."""

from __future__ import annotations

from html.parser import HTMLParser


class Forms(HTMLParser):
    """The hidden inputs of each form on a page, by the form's action."""

    def __init__(self, page: str = ""):
        super().__init__()
        self.page = page
        self.forms: dict[str, dict[str, str]] = {}
        self._action: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action") or self.page  # no action: posts to the page itself
            self.forms.setdefault(self._action, {})
        elif tag == "input" and self._action is not None and a.get("type") == "hidden":
            self.forms[self._action][a.get("name")] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None


def loaded(client, page: str, action: str) -> dict[str, str]:
    """Open the page as a person would and keep what the form carries (version, loaded_at)."""
    parser = Forms(page)
    parser.feed(client.get(page).get_data(as_text=True))
    assert action in parser.forms, f"{page} has no form posting to {action}"
    hidden = parser.forms[action]
    assert hidden.get("version", "").isdigit(), f"the form to {action} carries no version"
    return {k: v for k, v in hidden.items() if k in ("version", "loaded_at")}
