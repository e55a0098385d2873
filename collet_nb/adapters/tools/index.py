"""``ToolIndex``: BM25 (``bm25s``) over every tool's name, description and parameters.

Ranks tools for ``tool_search``, ``/tools QUERY`` and unknown-name suggestions. ``bm25s`` (and
numpy) load on the first index built, never on ``import collet_nb``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from collet_nb.core.chat import ToolSpec

# A word is a run of letters and digits: ``_``, ``-`` and punctuation separate words, so
# ``mcp__git__git_log`` gives mcp, git, git, log. A camelCase word also gives its parts
# (``GitLab``: gitlab, git, lab; ``HTTPServer``: httpserver, http, server), so both "gitlab" and
# "git" find it. Measured faster than bm25s' tokenizer, which keeps ``get_time`` whole
# (bench/tool_index.py).
_RUN = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"[A-Z]+(?![^\W\d_A-Z])|[A-Z]?[^\W\d_A-Z]+|\d+")

# Lucene's English stop words (the list bm25s uses) plus words that only frame a request.
_STOPWORDS_TEXT = """
a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with i me my we our you your can could would should please do does how
what which
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# A name says more about a tool than a sentence of its description: its words count twice.
_NAME_WEIGHT = 2


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of ``text``, split on punctuation, ``_``, ``-`` and camelCase.

    Stop words and one-character tokens are dropped.
    """
    tokens = []
    for run in _RUN.findall(text):
        word = run.lower()
        if len(word) > 1 and word not in STOPWORDS:
            tokens.append(word)
        if run.islower() or run.isupper() or run[1:].islower():
            continue  # the common case: no case change inside the word
        parts = _CAMEL.findall(run)
        if len(parts) > 1:
            lowered = (part.lower() for part in parts)
            tokens += [p for p in lowered if len(p) > 1 and p not in STOPWORDS]
    return tokens


def fingerprint(specs: Iterable[ToolSpec]) -> int:
    """A cheap identity of a tool set: its names and descriptions, in order.

    Two sets with the same fingerprint get the same index; a changed schema alone does not
    change it (the owner maps results back to its current specs by name).
    """
    return hash(tuple((spec.name, spec.description) for spec in specs))


def document(spec: ToolSpec) -> list[str]:
    """The tokens indexed for ``spec``: name (weighted), description, parameter names and
    their descriptions."""
    tokens = tokenize(spec.name) * _NAME_WEIGHT
    tokens += tokenize(spec.description)
    properties = spec.parameters.get("properties")
    if isinstance(properties, Mapping):
        for name, field in properties.items():
            tokens += tokenize(str(name))
            if isinstance(field, Mapping):
                text = field.get("description")
                if isinstance(text, str):
                    tokens += tokenize(text)
    return tokens


class ToolIndex:
    """A BM25 index of a fixed tool set, built once; rebuild it when :func:`fingerprint` changes.

    Attributes:
        specs: the indexed tools, in the order given (ties rank in this order).
        fingerprint: :func:`fingerprint` of ``specs``.
    """

    def __init__(self, specs: Sequence[ToolSpec]) -> None:
        """Index ``specs``.

        Args:
            specs: the tools; an empty set gives an index that finds nothing.
        """
        self.specs = tuple(specs)
        self.fingerprint = fingerprint(self.specs)
        self._bm25: Any = None
        self._masks: dict[Callable[[ToolSpec], bool], Any] = {}
        # Token ids are assigned here in one pass (bm25s would take two over the corpus).
        self._vocab: dict[str, int] = {}
        vocab = self._vocab
        corpus = [[vocab.setdefault(t, len(vocab)) for t in document(spec)] for spec in self.specs]
        if vocab:  # bm25s divides by the mean document length
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index((corpus, vocab), show_progress=False)

    def __len__(self) -> int:
        return len(self.specs)

    def search(
        self, query: str, k: int = 5, *, where: Callable[[ToolSpec], bool] | None = None
    ) -> list[tuple[ToolSpec, float]]:
        """The ``k`` best matches for ``query``, best first, with their BM25 scores.

        Tools sharing no word with the query are never returned; an empty or stop-word-only
        query finds nothing. Equal scores keep the index's order.

        Args:
            query: free text (a request, a tool name, keywords).
            k: the most results to return.
            where: when given, only tools it accepts are considered. It is asked once per tool
                and its answers kept (so searches stay fast): pass a pure function, the same
                one each time.
        """
        if k <= 0 or self._bm25 is None:
            return []
        vocab = self._vocab
        ids = [vocab[t] for t in dict.fromkeys(tokenize(query)) if t in vocab]
        if not ids:
            return []
        import numpy as np

        scores = self._bm25.get_scores_from_ids(ids)
        matched = scores > 0
        if where is not None:
            matched &= self._mask(where)
        hits = np.flatnonzero(matched)
        hit_scores = scores[hits]
        if len(hits) > k:
            # Keep every hit scoring at least the k-th best, so ties at the cut stay ordered.
            cut = np.partition(hit_scores, len(hits) - k)[len(hits) - k]
            keep = hit_scores >= cut
            hits, hit_scores = hits[keep], hit_scores[keep]
        order = np.argsort(-hit_scores, kind="stable")[:k]
        return [(self.specs[hits[i]], float(hit_scores[i])) for i in order]

    def _mask(self, where: Callable[[ToolSpec], bool]) -> Any:
        mask = self._masks.get(where)
        if mask is None:
            import numpy as np

            if len(self._masks) >= 8:  # predicates made per call must not pile up
                self._masks.clear()
            accepted = (where(spec) for spec in self.specs)
            mask = self._masks[where] = np.fromiter(accepted, dtype=bool, count=len(self.specs))
        return mask
