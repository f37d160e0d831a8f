"""English questions, Swedish records: expand the lexical query with Swedish terms.

BM25 cannot match "turnover" to "personalomsättning"; a bilingual list of
public-administration terms can. The list is a plain data file
(``assistant/data/terms-en-sv.tsv``) that a municipality can extend with its own
file (``COUNCIL_QA_TERMS``), because every organisation has its own vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_WORD = re.compile(r"[a-z0-9åäöéü'-]+")
_ANY_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
MAX_PHRASE = 5
BUNDLED_TERMS = Path(__file__).parent / "data" / "terms-en-sv.tsv"


def parse_terms(text: str, source: str = "terms") -> dict[str, list[str]]:
    """``english<TAB>swedish, swedish`` lines; later lines add to earlier ones."""
    table: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        english, sep, swedish = line.partition("\t")
        if not sep or not english.strip() or not swedish.strip():
            raise ValueError(f"{source}:{number}: expected 'english<TAB>swedish, swedish', got {line!r}")
        key = " ".join(lemma(w) for w in english.casefold().split())
        table.setdefault(key, [])
        table[key] += [s.strip() for s in swedish.split(",") if s.strip()]
    return table


@lru_cache(maxsize=4)
def load_terms(extra_file: str = "") -> dict[str, list[str]]:
    bundled = BUNDLED_TERMS.read_text(encoding="utf-8")
    table = parse_terms(bundled, "terms-en-sv.tsv")
    if extra_file:
        path = Path(extra_file)
        try:
            extra = parse_terms(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise ValueError(f"COUNCIL_QA_TERMS: cannot read {path} ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"COUNCIL_QA_TERMS: {path} is not UTF-8 (byte {exc.start}); save it as UTF-8"
            ) from None
        for key, values in extra.items():
            table.setdefault(key, []).extend(values)
    return table


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "would", "could", "also"}


def without_english_stopwords(question: str) -> str:
    """An English question without its function words, for matching against Swedish records.

    The Swedish analyzer keeps "the", "what" and "and": they are not Swedish
    stopwords, and the few records that quote English give them a high idf, so
    they outweighed the question's real words in BM25 and in the composer.
    """
    question = _POSSESSIVE.sub("", question)  # "Lindblom's" would leave an "s", which matches "(S)"
    kept = [w for w in _ANY_WORD.findall(question) if w.casefold() not in english_stopwords()]
    return " ".join(kept)


_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")


_IRREGULAR = {"children": "child", "women": "woman", "men": "man", "analyses": "analysis", "crises": "crisis"}


def lemma(word: str) -> str:
    """A crude English singular/base form: enough to match a term list, not a linguist."""
    word = word.strip("'")
    if word.endswith("'s"):
        word = word[:-2]
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _variants(word: str) -> list[str]:
    """Base forms to try for a word, e.g. promised -> promise, promis; leaving -> leave."""
    base = lemma(word)
    out = [base]
    if base.endswith("ed") and len(base) > 4:
        out += [base[:-1], base[:-2]]
    if base.endswith("ing") and len(base) > 5:
        out += [base[:-3] + "e", base[:-3]]
    return out


def expand(question: str, table: dict[str, list[str]] | None = None) -> list[str]:
    """Swedish terms for the English words and phrases of ``question``, longest phrases first."""
    return list(dict.fromkeys(t for group in expand_groups(question, table) for t in group))


def expand_groups(question: str, table: dict[str, list[str]] | None = None) -> list[list[str]]:
    """The Swedish alternatives of each English word or phrase of ``question`` that the list knows.

    Kept apart per phrase because they are alternatives: a passage that says
    "avhopp" has matched "turnover" as fully as one that says "personalomsättning".
    """
    table = table if table is not None else load_terms()
    words = _WORD.findall(question.casefold())
    found: list[list[str]] = []
    used = [False] * len(words)
    for size in range(min(MAX_PHRASE, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            if any(used[i : i + size]):
                continue
            heads = _variants(words[i + size - 1])
            prefix = " ".join(lemma(w) for w in words[i : i + size - 1])
            for head in heads:
                key = f"{prefix} {head}".strip()
                if key in table:
                    found.append(list(table[key]))
                    used[i : i + size] = [True] * size
                    break
    return found
