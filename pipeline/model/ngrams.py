"""N-gram counting for whole batches: the inner loop of the word and character features.

:class:`WordIndex` and :class:`CharIndex` turn texts into the count matrices that
scikit-learn's ``CountVectorizer`` would make with the same vocabulary (word n-grams of
space-separated tokens; ``char_wb`` n-grams of lower-cased text), and :func:`tfidf`
weights them as ``TfidfVectorizer.transform`` does. They need only numpy and scipy,
so prediction can use them without importing scikit-learn (a second of start-up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp


def wb_ngrams(word: str, lo: int, hi: int) -> list[str]:
    """Character n-grams of one space-padded word, as scikit-learn's ``char_wb`` makes them."""
    w = f" {word} "
    out = []
    for n in range(lo, hi + 1):
        if len(w) <= n:  # scikit-learn counts a word no longer than n once, whole, and stops
            out.append(w)
            break
        out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


def join_terms(terms: Sequence[str]) -> np.ndarray:
    """Terms (no line breaks in them: n-grams of whitespace-split text) as one UTF-8
    byte array: compact on disk, and loaded without pickle."""
    if any("\n" in t for t in terms):
        raise ValueError("a term holds a line break")
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def split_terms(blob: np.ndarray) -> list[str]:
    """The terms :func:`join_terms` stored."""
    text = np.asarray(blob, dtype=np.uint8).tobytes().decode("utf-8")
    return text.split("\n") if text else []


def tfidf(counts: sp.csr_matrix, idf: np.ndarray, sublinear: bool) -> sp.csr_matrix:
    """``TfidfVectorizer.transform`` of raw n-gram counts: (sublinear) tf, idf, unit rows."""
    counts = counts.astype(np.float64, copy=False)
    if sublinear:
        np.log(counts.data, counts.data)
        counts.data += 1
    counts.data *= idf[counts.indices]
    rows = np.diff(counts.indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(len(rows)), rows),
                                weights=counts.data ** 2, minlength=len(rows)))
    norms[norms == 0] = 1.0
    counts.data /= np.repeat(norms, rows)
    return counts


class WordIndex:
    """Word n-gram counts of token lists, looked up for a whole batch with numpy.

    Every token of a vocabulary n-gram gets an id; an n-gram is found by its
    ``(prefix id, next token id)`` pair in one sorted table per length, so a batch
    needs one dictionary look-up per token and a few array operations per n.
    """

    def __init__(self, vocabulary: Mapping[str, int], ngram_range: tuple[int, int]) -> None:
        self.lo, self.hi = ngram_range
        self.size = len(vocabulary)
        grams = [(term.split(" "), index) for term, index in vocabulary.items()]
        self.token_id: dict[str, int] = {}
        for words, _ in grams:
            for w in words:
                self.token_id.setdefault(w, len(self.token_id))
        self.n_tokens = max(1, len(self.token_id))
        # level k: sorted keys (id of the first k-1 tokens, id of the k-th), and the
        # vocabulary index of the k-gram itself (-1 when only longer n-grams start so)
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        prefix_id: dict[tuple[str, ...], int] = {(): 0}
        for k in range(1, self.hi + 1):
            found: dict[int, int] = {}
            key_of: dict[tuple[str, ...], int] = {}
            for words, index in grams:
                if len(words) < k:
                    continue
                key = (prefix_id[tuple(words[:k - 1])] * self.n_tokens
                       + self.token_id[words[k - 1]])
                key_of[tuple(words[:k])] = key
                if len(words) == k:
                    found[key] = index
                else:
                    found.setdefault(key, -1)
            keys = sorted(found)
            self.keys.append(np.array(keys, dtype=np.int64))
            self.values.append(np.array([found[x] for x in keys], dtype=np.int64))
            position = {x: i for i, x in enumerate(keys)}
            prefix_id = {t: position[key] for t, key in key_of.items()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The look-up tables as arrays (saved with a model: rebuilding them takes longer
        than loading them)."""
        out = {"tokens": join_terms(list(self.token_id)),
               "shape": np.array([self.lo, self.hi, self.size, self.n_tokens])}
        for k, (keys, values) in enumerate(zip(self.keys, self.values, strict=True), 1):
            out[f"keys{k}"], out[f"values{k}"] = keys, values
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> WordIndex:
        """The index :meth:`to_arrays` saved."""
        index = cls.__new__(cls)
        index.lo, index.hi, index.size, index.n_tokens = (int(x) for x in arrays["shape"])
        tokens = split_terms(arrays["tokens"])
        index.token_id = dict(zip(tokens, range(len(tokens)), strict=True))
        index.keys = [np.asarray(arrays[f"keys{k}"]) for k in range(1, index.hi + 1)]
        index.values = [np.asarray(arrays[f"values{k}"]) for k in range(1, index.hi + 1)]
        return index

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts (texts x vocabulary) of the n-grams of space-separated tokens."""
        splits = [t.split() for t in texts]
        lengths = np.fromiter(map(len, splits), dtype=np.int64, count=len(splits))
        flat = list(chain.from_iterable(splits))
        ids = np.fromiter(map(self.token_id.get, flat, repeat(-1)), dtype=np.int64,
                          count=len(flat))
        row = np.repeat(np.arange(len(texts)), lengths)
        rows, cols = [], []
        prefix = np.zeros(len(ids), dtype=np.int64)  # id of the (k-1)-gram starting here
        alive = ids >= 0  # the k-gram starting here is a prefix of some vocabulary n-gram
        for k in range(1, self.hi + 1):
            if k > 1:  # the k-th token: in the same text, and in some n-gram
                m = max(0, len(ids) - k + 1)
                alive[m:] = False
                nxt = np.full(len(ids), -1, dtype=np.int64)
                nxt[:m] = ids[k - 1:]
                same = np.zeros(len(ids), dtype=bool)
                same[:m] = row[k - 1:] == row[:m]
                alive &= same & (nxt >= 0)
            else:
                nxt = ids
            at = np.flatnonzero(alive)
            key = prefix[at] * self.n_tokens + nxt[at]
            pos = np.searchsorted(self.keys[k - 1], key)
            pos[pos >= len(self.keys[k - 1])] = 0
            hit = self.keys[k - 1][pos] == key if len(self.keys[k - 1]) else \
                np.zeros(len(at), dtype=bool)
            alive[:] = False
            alive[at[hit]] = True
            prefix[at[hit]] = pos[hit]
            if k >= self.lo:
                value = self.values[k - 1][pos[hit]]
                keep = value >= 0
                rows.append(row[at[hit]][keep])
                cols.append(value[keep])
        rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        cols_all = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        counts = sp.csr_matrix((np.ones(len(rows_all)), (rows_all, cols_all)),
                               shape=(len(texts), self.size))
        counts.sum_duplicates()
        return counts


class CharIndex:
    """``char_wb`` n-gram counts of texts, from per-word cached vocabulary indices.

    ``char_wb`` n-grams never cross word boundaries, so a text's n-grams are the union
    of its words': texts x word types (counts) times word types x n-grams, one sparse
    product per batch. Every word seen gets a number and its n-gram indices are kept
    in flat arrays, so a batch costs one dictionary look-up per word and numpy work;
    only new words are taken apart in Python.
    """

    #: word types whose n-gram indices are cached at most (then the cache restarts)
    CACHE_WORDS = 500_000

    def __init__(self, vocabulary: Mapping[str, int], ngram_range: tuple[int, int]) -> None:
        self.vocabulary = vocabulary
        self.lo, self.hi = ngram_range
        self._clear()

    def _clear(self) -> None:
        self._ids: dict[str, int] = {}  # word -> its number
        self._grams = np.zeros(1024, dtype=np.int64)  # n-gram indices of all words, flat
        self._starts = np.zeros(1025, dtype=np.int64)  # word i: _grams[_starts[i]:_starts[i+1]]
        self._used = 0  # entries of _grams in use

    def _learn(self, words: list[str]) -> None:
        """Number the new ``words`` and store their n-gram indices."""
        vocabulary = self.vocabulary
        found = [[vocabulary[g] for g in wb_ngrams(w, self.lo, self.hi) if g in vocabulary]
                 for w in words]
        sizes = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        first = len(self._ids)
        need_words, need_grams = first + len(words) + 1, self._used + int(sizes.sum())
        if need_words > len(self._starts):
            self._starts = np.resize(self._starts, max(need_words, 2 * len(self._starts)))
        if need_grams > len(self._grams):
            self._grams = np.resize(self._grams, max(need_grams, 2 * len(self._grams)))
        self._grams[self._used:need_grams] = np.fromiter(
            chain.from_iterable(found), dtype=np.int64, count=need_grams - self._used)
        self._starts[first + 1:first + 1 + len(words)] = self._used + np.cumsum(sizes)
        self._used = need_grams
        self._ids.update(zip(words, range(first, first + len(words)), strict=True))

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts (texts x vocabulary) of the lower-cased texts' ``char_wb`` n-grams."""
        if len(self._ids) > self.CACHE_WORDS:
            self._clear()
        splits = [t.lower().split() for t in texts]
        lengths = np.fromiter(map(len, splits), dtype=np.int64, count=len(splits))
        flat = list(chain.from_iterable(splits))
        ids = np.fromiter(map(self._ids.get, flat, repeat(-1)), dtype=np.int64,
                          count=len(flat))
        new = np.flatnonzero(ids < 0)
        if len(new):
            self._learn(list(dict.fromkeys(flat[i] for i in new.tolist())))
            ids[new] = np.fromiter(map(self._ids.__getitem__, (flat[i] for i in new.tolist())),
                                   dtype=np.int64, count=len(new))
        types, column = np.unique(ids, return_inverse=True)
        by_text = sp.csr_matrix((np.ones(len(ids)), column.reshape(-1),
                                 np.concatenate(([0], np.cumsum(lengths)))),
                                shape=(len(texts), len(types)))
        begin, end = self._starts[types], self._starts[types + 1]
        sizes = end - begin
        indptr = np.concatenate(([0], np.cumsum(sizes)))
        # the n-gram indices of each word type of the batch, gathered in one step
        gather = np.arange(int(indptr[-1])) - np.repeat(indptr[:-1] - begin, sizes)
        by_type = sp.csr_matrix((np.ones(len(gather)), self._grams[gather], indptr),
                                shape=(len(types), len(self.vocabulary)))
        return (by_text @ by_type).tocsr()  # a product: no duplicate entries
