"""Near-duplicate detection: TF-IDF cosine similarity on the variables + objective text.

ReSocratic drops a demonstration when its variables-and-objective part has cosine similarity
of 0.7 or more with one already kept. The index here is incremental and thread-safe: a new text
is compared with every text admitted so far (IDF refit on each check, so scores match a batch
computation over the same texts).
"""

from __future__ import annotations

import threading

DEFAULT_THRESHOLD = 0.7


class DedupIndex:
    """Texts admitted so far; ``admit(key, text)`` refuses one too similar to any of them."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"dedup threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._texts: dict[str, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def similarity(self, text: str) -> float:
        """Highest cosine similarity of ``text`` to an admitted text (0.0 when empty)."""
        with self._lock:
            return self._best(text)

    def admit(self, key: str, text: str) -> bool:
        """Add ``text`` under ``key`` unless it duplicates an admitted text; True if added."""
        with self._lock:
            if key in self._texts:
                return True
            if self._best(text) >= self.threshold:
                return False
            self._texts[key] = text
            return True

    def add(self, key: str, text: str) -> None:
        """Add without checking (texts already kept by an earlier run)."""
        with self._lock:
            self._texts[key] = text

    def remove(self, key: str) -> None:
        """Forget ``key`` (a demonstration that produced no item)."""
        with self._lock:
            self._texts.pop(key, None)

    def _best(self, text: str) -> float:
        if not self._texts:
            return 0.0
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.metrics.pairwise import cosine_similarity

        corpus = [*self._texts.values(), text]
        try:
            matrix = TfidfVectorizer().fit_transform(corpus)
        except ValueError:  # only stop words / no tokens at all
            return 0.0
        return float(cosine_similarity(matrix[-1], matrix[:-1]).max())
