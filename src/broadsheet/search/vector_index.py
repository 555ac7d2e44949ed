"""Nearest-neighbour search over paper embeddings, from one memory-mapped file per model.

Rule: the file is derived data. It is rebuilt from PaperEmbedding rows (`broadsheet index rebuild`) and
changed only by whole-file replacement (write a temp file, fsync, rename), so a reader never sees a torn
file and reopens when the file changes. Below EXACT_SCAN_MAX_VECTORS the file is a flat float16 table
scanned exactly with numpy; above it, a faiss inverted-file index over 8-bit scalar-quantised vectors
(IVF-SQ8; choice measured in docs/decisions.md). Scores are cosine similarities of L2-normalised vectors,
best first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# A numpy scan of 20,000 x 384 float32 (30 MB in RAM) takes a few ms on one core; past that the inverted
# file is faster and its approximate answers (recall@10 >= 0.95) are worth the speed.
EXACT_SCAN_MAX_VECTORS = 20_000

# Inverted file: about sqrt(n) lists (1,000 at 1M papers), trained by k-means on at most TRAIN_ROWS_PER_LIST
# rows per list; a query scans the PROBED_LISTS lists nearest to it. Measured with real title queries
# (docs/decisions.md): a query's true top 10 need a larger share of the lists at 100k vectors (sparser
# neighbourhoods: 10% for recall 0.96) than at 1M (0.4% gave 0.96), and scanning 10% of 1M costs tens of
# ms. sqrt(n) lists with 32 probed scan 10% at 100k and 3% at 1M.
LISTS_PER_SQRT_VECTOR = 1
TRAIN_ROWS_PER_LIST = 50
PROBED_LISTS = 32
RANGE_MARGIN = 0.1

FLAT_MAGIC = b"BSVFLAT1"
# magic, dim (uint32), reserved (uint32), count (uint64); the arrays start at a 64-byte boundary
FLAT_HEADER = struct.Struct("<8sIIQ")
FLAT_DATA_OFFSET = 64


IVF_MAGICS = (b"IwSq", b"IwSQ")  # faiss's four-character codes of IndexIVFScalarQuantizer files


class VectorIndexError(Exception):
    """A vector file that cannot be used: wrong dimension, unreadable or foreign content."""


def model_file_stem(model_name: str) -> str:
    """A file name for a model name such as `st:BAAI/bge-small-en-v1.5`, unique per name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._") or "model"
    if stem != model_name:
        stem = f"{stem}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}"
    return stem


def index_path(model_name: str) -> Path:
    """DATA_DIR/vectors/<model>.index: where the index of a model's embeddings lives."""
    from django.conf import settings

    return Path(settings.DATA_DIR) / "vectors" / f"{model_file_stem(model_name)}.index"


def _as_ids(ids: object) -> np.ndarray:
    array = np.asarray(ids, dtype=np.int64).reshape(-1)
    if array.size and array.min() < 0:
        raise ValueError("paper ids must be non-negative")
    return array


def _as_unit_rows(vectors: object, dim: int | None = None) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"expected a (n, dim) array of vectors, got shape {array.shape}")
    if dim is not None and array.shape[0] and array.shape[1] != dim:
        raise VectorIndexError(f"vectors have dimension {array.shape[1]}, the index has {dim}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    # a zero vector (empty text) stays zero: it matches nothing rather than dividing by zero
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)


def _file_signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """One writer per index file at a time (the embed job and a rebuild may overlap); readers never lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_file(path: Path, write: object) -> None:
    """Write through `write(temp_path)` into a temp file beside `path`, fsync it, rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    temp_path = Path(temp_name)
    try:
        write(temp_path)  # type: ignore[operator]
        with open(temp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write_flat(path: Path, ids: np.ndarray, vectors: np.ndarray) -> None:
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    with open(path, "wb") as handle:
        header = FLAT_HEADER.pack(FLAT_MAGIC, dim, 0, len(ids))
        handle.write(header.ljust(FLAT_DATA_OFFSET, b"\0"))
        handle.write(np.ascontiguousarray(ids, dtype="<i8").tobytes())
        handle.write(np.ascontiguousarray(vectors, dtype="<f2").tobytes())


def _list_count(count: int) -> int:
    # k-means wants about 39 training rows per centroid (faiss warns below that)
    return max(1, min(65_536, round(LISTS_PER_SQRT_VECTOR * count**0.5), count // 39))


def _new_ivf(ids: np.ndarray, vectors: np.ndarray):  # -> faiss.IndexIVFScalarQuantizer
    """An inverted file trained on (a sample of) `vectors`, holding all of them."""
    import faiss

    dim = vectors.shape[1]
    lists = _list_count(len(vectors))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]  # SWIG: the index frees its quantizer
    # Each dimension's 8-bit range is its min..max over the training rows, widened by 10% on each side:
    # a later vector beyond the range is clipped, and papers added after the build may reach further.
    index.sq.rangestat_arg = RANGE_MARGIN
    rows = min(len(vectors), lists * TRAIN_ROWS_PER_LIST)
    sample = (
        np.random.default_rng(0).choice(len(vectors), rows, replace=False) if rows < len(vectors) else None
    )
    index.train(
        np.ascontiguousarray(vectors if sample is None else vectors[np.sort(sample)], dtype=np.float32)
    )
    for start in range(0, len(ids), 100_000):  # bounded float32 copies
        index.add_with_ids(
            np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32),
            np.ascontiguousarray(ids[start : start + 100_000], dtype=np.int64),
        )
    return index


def _ivf_ids(index) -> np.ndarray:
    import faiss

    lists = index.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(number), lists.list_size(number)).copy()
        for number in range(index.nlist)
        if lists.list_size(number)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _ivf_rows(index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, decoded unit vectors) of everything in an inverted file."""
    import faiss

    lists = index.invlists
    ids, vectors = [np.zeros(0, dtype=np.int64)], [np.zeros((0, index.d), dtype=np.float32)]
    for number in range(index.nlist):
        size = lists.list_size(number)
        if not size:
            continue
        ids.append(faiss.rev_swig_ptr(lists.get_ids(number), size).copy().astype(np.int64))
        codes = faiss.rev_swig_ptr(lists.get_codes(number), size * index.code_size).copy()
        vectors.append(index.sq.decode(codes.reshape(size, index.code_size)))
    return np.concatenate(ids), _as_unit_rows(np.concatenate(vectors))


@dataclass
class _Contents:
    """What a writer edits in memory: a flat table, or a writable inverted file (loaded, not mapped)."""

    dim: int
    ids: np.ndarray | None = None  # flat
    vectors: np.ndarray | None = None  # flat, float16
    ivf: Any = None  # faiss.IndexIVFScalarQuantizer

    def count(self) -> int:
        if self.ivf is not None:
            return int(self.ivf.ntotal)
        return 0 if self.ids is None else len(self.ids)


class VectorIndex:
    """Vectors of papers for one model; open it with `open`/`build`, query it with `search`.

    Writes (`add`, `remove`) take the file's writer lock, apply the change to the newest file on disk and
    replace it, so changes from another process are never lost; readers pick the new file up on `open`
    (or through `get_vector_index`, which reopens when the file changes).
    """

    def __init__(self, path: Path, *, exact_max_vectors: int = EXACT_SCAN_MAX_VECTORS) -> None:
        self.path = Path(path)
        self.exact_max_vectors = exact_max_vectors
        self.dim = 0
        self.signature: tuple[int, int, int, int] | None = None
        self._ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._matrix: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # flat vectors, float32 in RAM
        self._ivf: Any = None  # inverted file mapped from the file (read-only: never add to it)
        self._count = 0

    # -- opening ---------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, exact_max_vectors: int = EXACT_SCAN_MAX_VECTORS) -> VectorIndex:
        """The index in `path`; a missing file is an empty index that `add` will create."""
        index = cls(Path(path), exact_max_vectors=exact_max_vectors)
        index._load()
        return index

    @classmethod
    def build(
        cls,
        ids: object,
        vectors: object,
        path: Path | str,
        *,
        exact_max_vectors: int = EXACT_SCAN_MAX_VECTORS,
    ) -> VectorIndex:
        """A new index of exactly these (id, vector) pairs, replacing whatever `path` held."""
        id_array = _as_ids(ids)
        matrix = _as_unit_rows(vectors)
        if len(id_array) != len(matrix):
            raise ValueError(f"{len(id_array)} ids for {len(matrix)} vectors")
        if len(np.unique(id_array)) != len(id_array):
            raise ValueError("duplicate paper ids")
        index = cls(Path(path), exact_max_vectors=exact_max_vectors)
        contents = _Contents(dim=matrix.shape[1], ids=id_array, vectors=matrix.astype(np.float16))
        del matrix
        with _writer_lock(index.path):
            index._save(contents)
            index._load()
        return index

    def _load(self) -> None:
        signature = _file_signature(self.path)
        self.signature = signature
        self._ivf = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self.dim = 0
        self._count = 0
        if signature is None:
            return
        with open(self.path, "rb") as handle:
            head = handle.read(FLAT_HEADER.size)
        if head[:8] == FLAT_MAGIC:
            _, dim, _, count = FLAT_HEADER.unpack(head)
            self.dim, self._count = dim, count
            if count:
                ids = np.memmap(self.path, dtype="<i8", mode="r", offset=FLAT_DATA_OFFSET, shape=(count,))
                vectors = np.memmap(
                    self.path, dtype="<f2", mode="r", offset=FLAT_DATA_OFFSET + 8 * count, shape=(count, dim)
                )
                # at most EXACT_SCAN_MAX_VECTORS rows: float32 in RAM lets BLAS do the scan
                self._ids = np.array(ids)
                self._matrix = np.array(vectors, dtype=np.float32)
            return
        if head[:4] not in IVF_MAGICS:
            raise VectorIndexError(f"{self.path} is not a Broadsheet vector index")
        import faiss

        try:
            ivf: Any = faiss.read_index(str(self.path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            raise VectorIndexError(f"{self.path} could not be read: {exc}") from exc
        ivf.nprobe = min(ivf.nlist, PROBED_LISTS)
        self._ivf = ivf
        self.dim = ivf.d
        self._count = int(ivf.ntotal)

    # -- reading ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    @property
    def is_exact(self) -> bool:
        """True while searches scan every vector (a flat file); False for the inverted file."""
        return self._ivf is None

    def search(self, query: object, k: int) -> list[tuple[int, float]]:
        """The k papers whose vectors are nearest to `query`: (paper id, cosine similarity), best first."""
        if k <= 0 or self._count == 0:
            return []
        vector = _as_unit_rows(query, self.dim)
        if vector.shape[0] != 1:
            raise ValueError("search takes one query vector")
        if self._ivf is None:
            scores = self._matrix @ vector[0]
            k = min(k, len(scores))
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            # ties broken by paper id so that the order does not depend on the file's row order
            top = top[np.lexsort((self._ids[top], -scores[top]))]
            # float16 rounding can put a vector's similarity with itself a hair above 1
            return [(int(self._ids[i]), min(1.0, float(scores[i]))) for i in top]
        similarities, labels = self._ivf.search(vector, min(k, self._count))
        return [
            (int(label), min(1.0, float(similarity)))
            for label, similarity in zip(labels[0], similarities[0], strict=True)
            if label >= 0
        ]

    def ids(self) -> np.ndarray:
        """Every paper id in the index (int64, unordered)."""
        if self._ivf is None:
            return self._ids.copy()
        return _ivf_ids(self._ivf)

    def size_bytes(self) -> int:
        return 0 if self.signature is None else self.signature[2]

    # -- writing ---------------------------------------------------------------------------------------

    def add(self, ids: object, vectors: object) -> None:
        """Add or replace the vectors of these papers, and write the file."""
        id_array = _as_ids(ids)
        matrix = _as_unit_rows(vectors)
        if len(id_array) != len(matrix):
            raise ValueError(f"{len(id_array)} ids for {len(matrix)} vectors")
        if not len(id_array):
            return
        # the last vector given for an id wins, as if they had been added one at a time
        _, last = np.unique(id_array[::-1], return_index=True)
        keep = len(id_array) - 1 - last
        id_array, matrix = id_array[keep], matrix[keep]
        with _writer_lock(self.path):
            contents = self._read_contents()
            if contents.dim and matrix.shape[1] != contents.dim:
                raise VectorIndexError(
                    f"vectors have dimension {matrix.shape[1]}, the index has {contents.dim}"
                )
            contents.dim = matrix.shape[1]
            if contents.ivf is not None:
                import faiss

                contents.ivf.remove_ids(faiss.IDSelectorBatch(id_array))
                contents.ivf.add_with_ids(matrix, id_array)
            else:
                old_ids = contents.ids if contents.ids is not None else np.zeros(0, dtype=np.int64)
                old_vectors = contents.vectors
                if old_vectors is None or not len(old_ids):
                    old_vectors = np.zeros((0, contents.dim), np.float16)
                stay = ~np.isin(old_ids, id_array)
                contents.ids = np.concatenate([old_ids[stay], id_array])
                contents.vectors = np.concatenate([old_vectors[stay], matrix.astype(np.float16)])
            self._save(contents)
            self._load()

    def remove(self, ids: object) -> int:
        """Remove these papers (ids not in the index are ignored), write the file; returns how many went."""
        id_array = np.unique(_as_ids(ids))
        with _writer_lock(self.path):
            contents = self._read_contents()
            if contents.ivf is not None:
                import faiss

                removed = int(contents.ivf.remove_ids(faiss.IDSelectorBatch(id_array)))
            elif contents.ids is not None:
                stay = ~np.isin(contents.ids, id_array)
                removed = int((~stay).sum())
                contents.ids = contents.ids[stay]
                contents.vectors = contents.vectors[stay] if contents.vectors is not None else None
            else:
                removed = 0
            if removed:
                self._save(contents)
            self._load()
        return removed

    def _read_contents(self) -> _Contents:
        """The newest file on disk in a writable form (call with the writer lock held)."""
        self._load()
        if self._ivf is not None:
            import faiss

            self._ivf = None  # unmap before loading the same file whole
            return _Contents(dim=self.dim, ivf=faiss.read_index(str(self.path)))
        return _Contents(dim=self.dim, ids=self._ids.copy(), vectors=self._matrix.astype(np.float16))

    def _save(self, contents: _Contents) -> None:
        """Write `contents` as a flat file or an inverted file, whichever its size calls for."""
        count = contents.count()
        if count <= self.exact_max_vectors:
            table: np.ndarray | None
            if contents.ivf is not None:
                ids, decoded = _ivf_rows(contents.ivf)
                table = decoded.astype(np.float16)
            else:
                ids = contents.ids if contents.ids is not None else np.zeros(0, dtype=np.int64)
                table = contents.vectors
                if table is None or not len(ids):
                    table = np.zeros((0, contents.dim), np.float16)
            _replace_file(self.path, lambda temp: _write_flat(temp, ids, table))
            return
        import faiss

        ivf = contents.ivf
        if ivf is None:
            assert contents.ids is not None and contents.vectors is not None
            ivf = _new_ivf(contents.ids, contents.vectors)
        _replace_file(self.path, lambda temp: faiss.write_index(ivf, str(temp)))


_OPEN_INDEXES: dict[str, VectorIndex] = {}
_OPEN_LOCK = threading.Lock()


def get_vector_index(model_name: str) -> VectorIndex:
    """The index of a model's embeddings, opened once per process and reopened when its file changes."""
    path = index_path(model_name)
    signature = _file_signature(path)
    with _OPEN_LOCK:
        index = _OPEN_INDEXES.get(model_name)
        if index is None or index.path != path or index.signature != signature:
            index = VectorIndex.open(path)
            _OPEN_INDEXES[model_name] = index
        return index


def rebuild_vector_index(model_name: str, *, path: Path | None = None) -> VectorIndex:
    """Rebuild a model's index from its PaperEmbedding rows (deleted papers' rows are left out upstream)."""
    from broadsheet.search.embedding import load_vectors

    ids, vectors = load_vectors(model_name)
    if len(ids) == 0:
        vectors = np.zeros((0, 0), dtype=np.float32)
    return VectorIndex.build(ids, vectors, path or index_path(model_name))
