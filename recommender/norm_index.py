"""Exact inner-product top-k that reads mostly the resources that can win: norm pruning.

Matrix-factorisation resource vectors have very unequal lengths: popular resources get long
vectors, rarely used ones short (on the 100k-resource sample world the norms span four orders
of magnitude and 99.7% of every exact top-10 lies among the 5% longest). Graph and cluster
indexes built for inner product do poorly there (HNSW32 reaches recall@10 0.58-0.66, IVF 0.82
at nprobe 64), while the lengths themselves give an exact shortcut: by Cauchy-Schwarz no
resource can score more than ``|q| * |r|``. So the longest ``head_share`` of the resources is
scanned exactly (a FAISS flat inner-product index), and the rest, the tail, is scanned only for
the rare query whose k-th head score is below ``|q| * (longest tail norm)``. The answer is
exact (recall 1.0 by construction) at a fraction of a full scan.

Quacks like a FAISS index for :class:`recommender.index.ResourceIndex`: ``search(queries, k)``
returns ``(scores, resource_idx)`` with -inf / -1 padding. :meth:`NormPrunedFlat.search_allowed`
answers one query under a mask of allowed resources (a filtered delivery list) in the same
single pass: FAISS skips disallowed head resources through an ``IDSelectorBitmap`` over the
request's mask as it is (the head answers in resource_idx through an ``IndexIDMap``, so the mask
needs no per-request reordering) and the norm bound is tested against the k-th *allowed* score,
so no over-fetching and re-asking is needed.

``approximate=True`` (``ResourceIndex``'s ``"NormPrunedFlat,approx"``) is the explicit trade:
a query reads the longest vectors (the head, then the next blocks) only until what it has read
may be expected to hold :data:`HEAD_ALLOWED_PER_SLOT` allowed resources per wanted slot
(``read * n_allowed / n >= HEAD_ALLOWED_PER_SLOT * (k + 1)``), or earlier where the norm bound
already proves the rest cannot win; a list is never short (it reads on until it holds k allowed
resources), a selective filter reads deeper instead of losing recall, and a small catalog is
searched exactly. The returned scores are exact either way. On the sample world's ALS vectors a
head of the longest 2% (its default) keeps recall@10 above 0.99 under the learners' own masks at
about half the exact search's time; ``benchmarks/serve_load.py`` prints both paths' recall and
time in one run.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import faiss
import numpy as np

from recommender.errors import InvalidParameterError

# approximate=True stops reading once what it read may be expected to hold this many allowed
# resources per wanted slot (a deep sample: recall stays near 1, see the module).
HEAD_ALLOWED_PER_SLOT = 40
# Default head shares: exact search reads the tail only past the norm bound, so a larger head
# spares it tail scans; the approximate one mostly stops at the head, so a smaller head is speed
# (on the sample world: 2% of 100k resources, recall@10 0.993 under the learners' own masks).
EXACT_HEAD_SHARE, APPROX_HEAD_SHARE = 0.05, 0.02


class NormPrunedFlat:
    """Exact maximum inner product search over norm-ordered blocks, the first (the head) in a
    FAISS flat index; each later block is read only by queries its norm bound cannot rule out.
    Later blocks double in size, so a query the bound cannot stop early reaches the end of the
    catalog in a few steps while most stop after the head or the first small block.
    ``approximate``: stops once what it read samples the allowed resources deeply (module)."""

    def __init__(
        self, vectors: np.ndarray, head_share: float | None = None, approximate: bool = False
    ) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if head_share is None:
            head_share = APPROX_HEAD_SHARE if approximate else EXACT_HEAD_SHARE
        if not 0 < head_share <= 1:
            raise InvalidParameterError("head_share", head_share, "a share in (0, 1]")
        norms = np.linalg.norm(vectors, axis=1)
        order = np.argsort(-norms, kind="stable").astype(np.int64)
        self.ntotal = len(vectors)
        self.block = max(1, int(np.ceil(len(vectors) * head_share))) if len(vectors) else 1
        self.order = order
        self.sorted = np.ascontiguousarray(vectors[order])
        # Block boundaries in norm order: the head, then blocks of block, 2 block, 4 block ...
        starts, size = [0], self.block
        while starts[-1] + size < self.ntotal:
            starts.append(starts[-1] + size)
            size = self.block if len(starts) == 2 else size * 2
        self.starts = starts + [self.ntotal]
        sorted_norms = norms[order].astype(np.float32)
        self.block_norm = [float(sorted_norms[start]) if start < self.ntotal else 0.0
                           for start in self.starts]  # each block's longest
        self.approximate = bool(approximate)
        self.head = faiss.IndexFlatIP(vectors.shape[1])
        # The same head answering in resource_idx, so a mask over the catalog filters it as
        # is (no per-request gather of the head's share of the mask).
        self.head_ids = faiss.IndexIDMap(self.head)
        if self.ntotal:
            self.head_ids.add_with_ids(self.sorted[: self.block], order[: self.block])
        self._selectors = threading.local()  # per thread: one reusable FAISS bitmap selector
        self.tail_scans = 0  # queries that read past the head (for tests and benchmarks)

    def _tail_blocks(self) -> Iterator[tuple[int, int, float]]:
        """(start, stop, longest norm) of each block after the head, in norm order."""
        for number in range(1, len(self.starts) - 1):
            yield self.starts[number], self.starts[number + 1], self.block_norm[number]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        n_queries = len(queries)
        scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
        found = np.full((n_queries, k), -1, dtype=np.int64)
        if self.ntotal == 0 or k < 1:
            return scores, found
        k_head = min(k, self.block)
        head_scores, head_pos = self.head.search(queries, k_head)
        scores[:, :k_head] = head_scores
        found[:, :k_head] = head_pos  # positions in norm order until the end
        lengths = np.linalg.norm(queries, axis=1)
        read_past = np.zeros(n_queries, dtype=bool)
        for start, stop, longest in self._tail_blocks():
            bar = scores[:, k - 1]
            deep = self._read_enough(start, k, self.ntotal)
            unsure = np.flatnonzero((bar == -np.inf) if deep else lengths * longest >= bar)
            if not len(unsure):
                break
            read_past[unsure] = True
            block_scores = queries[unsure] @ self.sorted[start:stop].T
            k_block = min(k, stop - start)
            best = np.argpartition(-block_scores, k_block - 1, axis=1)[:, :k_block]
            merged_scores = np.hstack([scores[unsure],
                                       np.take_along_axis(block_scores, best, axis=1)])
            merged_found = np.hstack([found[unsure], start + best])
            top = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
            scores[unsure] = np.take_along_axis(merged_scores, top, axis=1)
            found[unsure] = np.take_along_axis(merged_found, top, axis=1)
        self.tail_scans += int(read_past.sum())
        found = np.where(found >= 0, self.order[np.maximum(found, 0)], -1)
        return scores, found

    def _read_enough(self, n_read: int, want: int, n_allowed: int) -> bool:
        """Approximate mode, and the ``n_read`` longest vectors expected to hold a deep sample
        of the allowed ones."""
        return self.approximate and (
            n_read * n_allowed >= HEAD_ALLOWED_PER_SLOT * want * max(self.ntotal, 1))

    def _mask_selector(self) -> tuple[np.ndarray, faiss.SearchParameters]:
        """This thread's bitmap over the whole catalog (resource_idx order) and the FAISS
        search parameters reading it through :attr:`head_ids` (built once: making the SWIG
        objects costs more than the head search of a small catalog)."""
        made = getattr(self._selectors, "made", None)
        if made is None:
            bitmap = np.zeros((self.ntotal + 7) // 8, dtype=np.uint8)
            selector = faiss.IDSelectorBitmap(self.ntotal, faiss.swig_ptr(bitmap))
            made = (bitmap, faiss.SearchParameters(sel=selector), selector)
            self._selectors.made = made
        return made[0], made[1]

    def search_allowed(
        self, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact best ``k`` of the resources ``allowed`` (bool over resource_idx) for one query:
        ``(resource_idx, scores)``, best first, equal scores in resource-index order; fewer
        than ``k`` only when fewer are allowed. None when a score tie runs across the k-th
        place (the caller settles it with an exact scan of the allowed set). With
        ``approximate`` it stops once it has read a deep sample of the allowed (module)."""
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if self.ntotal == 0 or k < 1:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        want = k + 1  # one spare shows whether a tie crosses the cut
        bitmap, params = self._mask_selector()
        bitmap[:] = np.packbits(allowed, bitorder="little")
        head_scores, head_idx = self.head_ids.search(query, min(want, self.block),
                                                     params=params)
        hit = head_idx[0] >= 0
        scores, resource_idx = head_scores[0][hit], head_idx[0][hit]
        length = math.sqrt(float(query[0] @ query[0]))
        read_past = False
        n_allowed = int(np.count_nonzero(allowed)) if self.approximate else 0
        for start, stop, longest in self._tail_blocks():
            full = len(scores) >= want
            bar = float(scores.min()) if full else -np.inf
            if full and (length * longest < bar or self._read_enough(start, want, n_allowed)):
                break
            read_past = True
            block_scores = self.sorted[start:stop] @ query[0]
            # Only what reaches the current want-th best can enter (ties kept): usually a
            # handful, so the mask is read and the ranking done on those alone.
            best = np.flatnonzero(block_scores >= bar) if full else None
            if best is None or len(best) > 4 * want:
                block_scores[~allowed[self.order[start:stop]]] = -np.inf
                take = min(want, len(block_scores))
                best = np.argpartition(-block_scores, take - 1)[:take]
                best = best[np.isfinite(block_scores[best])]
            else:
                best = best[allowed[self.order[start + best]]]
            scores = np.concatenate([scores, block_scores[best]])
            resource_idx = np.concatenate([resource_idx, self.order[start + best]])
            if len(scores) > want:
                top = np.argpartition(-scores, want - 1)[:want]
                scores, resource_idx = scores[top], resource_idx[top]
        self.tail_scans += read_past
        ranked = np.lexsort((resource_idx, -scores))
        resource_idx, scores = resource_idx[ranked], scores[ranked].astype(np.float32)
        if len(scores) > k and scores[k] >= scores[k - 1]:
            return None  # a tie at the cut: resources beyond the spare may share the score
        return resource_idx[:k].astype(np.int64), scores[:k]
