"""The words of a text, as the index holds them: Chinese needs no word breaking, so each
run of CJK characters becomes its overlapping bigrams (强基通 → 强基 基通; a lone character
stays itself) and each run of letters or digits one lower-cased word. A query is cut the
same way: each space-separated term is a phrase of its tokens (so 基通 is found inside
强基通, a two-character word is one token), the terms ANDed. Every token is quoted, so
FTS or tsquery syntax typed by the user (`"`, `*`, NEAR, OR, `:`, `&` …) is plain text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

from app import textclean

Q_MIN, Q_MAX = 2, 100
TERMS_MAX = 10
TOKENS_MAX = 16000  # PostgreSQL keeps positions up to 16383; beyond, phrases would not match
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")

TOO_SHORT = "请至少输入两个字（标点符号不计）。"
TOO_LONG = f"搜索内容过长：最多 {Q_MAX} 个字。"


class QueryError(ValueError):
    """The query cannot be searched; the message says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def runs(text: str) -> list[tuple[str, bool]]:
    """(run, is_cjk) in order: the searchable pieces of a text."""
    return [(m.group(0).lower(), bool(m.group(1))) for m in _RUN.finditer(text or "")]


def _run_tokens(run: str, cjk: bool) -> list[str]:
    if not cjk or len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_tokens(parts: Iterable[str | None]) -> str:
    """The tokens of a document's texts, space-separated."""
    out: list[str] = []
    for part in parts:
        for run, cjk in runs(part or ""):
            out.extend(_run_tokens(run, cjk))
            if len(out) >= TOKENS_MAX:
                return " ".join(out[:TOKENS_MAX])
    return " ".join(out)


@dataclass(frozen=True)
class Term:
    """One space-separated term: its tokens (a phrase) and whether the last is a lone CJK
    character, matched as a prefix (法 finds 法院)."""

    text: str
    tokens: tuple[str, ...]
    prefix: bool


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Term, ...]

    def fts5(self) -> str:
        """An FTS5 MATCH expression: quoted phrases, ANDed."""
        return " AND ".join(
            '"' + " ".join(t.replace('"', '""') for t in term.tokens) + '"' + ("*" if term.prefix else "")
            for term in self.terms
        )

    def tsquery(self) -> str:
        """A PostgreSQL to_tsquery text: quoted lexemes followed by each other (<->), ANDed."""

        def lexeme(token: str) -> str:
            return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"

        return " & ".join(
            "(" + " <-> ".join(lexeme(t) for t in term.tokens) + (":*" if term.prefix else "") + ")"
            for term in self.terms
        )

    def words(self) -> list[str]:
        """The runs to highlight, longest first."""
        found = {run for term in self.terms for run, _ in runs(term.text)}
        return sorted(found, key=len, reverse=True)


def parse(raw: str | None) -> Query:
    """The query as typed → a Query, or QueryError with the reason."""
    text = textclean.clean_input((raw or "").replace(textclean.NUL, "")).strip()
    if len(text) > Q_MAX:
        raise QueryError(TOO_LONG)
    terms = []
    for word in text.split()[:TERMS_MAX]:
        pieces = runs(word)
        if not pieces:
            continue
        tokens = [t for run, cjk in pieces for t in _run_tokens(run, cjk)]
        last, last_cjk = pieces[-1]
        terms.append(Term(word, tuple(tokens), prefix=last_cjk and len(last) == 1))
    if sum(len(run) for term in terms for run, _ in runs(term.text)) < Q_MIN:
        raise QueryError(TOO_SHORT)
    return Query(text, tuple(terms))


def highlight(text: str, words: list[str], *, width: int | None = None) -> Markup:
    """The text escaped, each word of the query wrapped in <mark>; with `width`, only a
    window of about that many characters around the first match."""
    text = text or ""
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    first = pattern.search(text) if pattern else None
    if width is not None and len(text) > width:
        start = max(0, (first.start() if first else 0) - width // 4)
        end = min(len(text), start + width)
        text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    if pattern is None:
        return escape(text)
    out = Markup("")
    pos = 0
    for m in pattern.finditer(text):
        out += escape(text[pos : m.start()]) + Markup("<mark>") + escape(m.group(0)) + Markup("</mark>")
        pos = m.end()
    return out + escape(text[pos:])
