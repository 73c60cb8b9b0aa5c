"""Exact, vectorised LVIS evaluation: lvis-api 0.5.3's numbers, computed with numpy.

The protocol is the federated one of LVIS (Gupta et al., "LVIS: A Dataset for Large Vocabulary
Instance Segmentation", CVPR 2019) with every rule exactly as lvis-api applies it:

1. Each image keeps its ``max_dets`` (300) highest-scoring detections over all categories
   (ties: earlier in the results list first).
2. Ground truth and detections with area <= 0 are dropped. A detection's area is its box's
   ``w * h`` when the results carry boxes, its mask area when they carry only masks.
3. A detection counts only on an image that says something about its category: the category
   has ground truth there or is in the image's ``neg_category_ids``; the rest are dropped.
4. Per (image, category) and IoU threshold, detections in decreasing score order (ties: file
   order) each take the unmatched ground truth of highest IoU >= threshold (ties: the later
   annotation), preferring ground truth that is not ignored (ignored = ``ignore`` flag or area
   outside the area range). Boxes use pycocotools' IoU formula, masks pycocotools' RLE IoU.
5. A detection matched to ignored ground truth is ignored; an unmatched one is ignored when
   its area is outside the area range or its category is in the image's
   ``not_exhaustive_category_ids``.
6. Per category, detections of all images are ranked by score (ties: image id, then file
   order); precision is made non-increasing and read at 101 recall points (0 beyond the
   reached recall). A category without (non-ignored) ground truth in an area range gets -1
   there and is left out of every mean. AP averages over IoU 0.50:0.95, recall points and
   categories; APr/APc/APf over the categories whose ``frequency`` is r/c/f; AR@300 averages
   the final recall over IoU thresholds and categories.

Where lvis-api silently drops or mis-scores bad input (detections of unknown categories,
NaN scores or boxes, annotation id 0, an empty results list), this module raises ValueError.
"""
import contextlib
import gc
import io
import itertools
import json
import mmap
import operator
import os
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Annotated, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

import msgspec
import numpy as np
import pycocotools.mask as mask_utils

# Built exactly as lvis-api builds them, so equality tests on thresholds (AP50, AP75) agree.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
# (name, lower, upper) in pixels^2; both bounds are inclusive, as in lvis-api.
AREA_RANGES = (
    ("all", 0.0, 1e5**2),
    ("small", 0.0, 32.0**2),
    ("medium", 32.0**2, 96.0**2),
    ("large", 96.0**2, 1e5**2),
)
FREQUENCY_GROUPS = ("r", "c", "f")
IOU_TYPES = ("bbox", "segm", "boundary")
METRIC_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf")


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector inside the block (restored as it was on exit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_json(path: str, opener=open):
    """The JSON file ``path`` as Python objects, parsed with msgspec (C; ~3x stdlib ``json``).

    The cyclic garbage collector is paused meanwhile: JSON holds no reference cycles, but a
    file of ~10^6 small dicts triggers many collections while it is parsed, each walking every
    tracked object of the process. After a large file, one full collection moves the parsed
    objects to the oldest generation in a single pass, so that cost is paid here rather than
    by the first automatic collections of the next work. Files msgspec rejects but stdlib
    ``json`` reads (NaN / Infinity literals) are read with ``json``.
    """
    with _gc_paused():
        with opener(path, "rb") as f:
            raw = f.read()
        try:
            data = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            data = json.loads(raw)
        del raw
        if gc.get_count()[0] > 100_000:  # objects created since the last collection
            gc.collect()
        return data


@contextlib.contextmanager
def _file_bytes(path: str, opener=open):
    """The content of a file as a buffer: memory-mapped when it is a local file (msgspec
    decodes from the page cache, no copy into a bytes object: ~10% of a large results
    file's decode time), read otherwise (an ``opener`` without file descriptors, an
    empty file). Decoders must not keep references into it (msgspec's typed ones do not)."""
    with opener(path, "rb") as f:
        try:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            mapped = None
        if mapped is None:
            yield f.read()
            return
        with mapped:
            yield mapped


class _Result(msgspec.Struct, gc=False):
    """One detection of a results file, as msgspec decodes it (not tracked by the collector)."""

    image_id: int
    category_id: int
    score: float
    bbox: Optional[Tuple[float, float, float, float]] = None
    segmentation: Any = None


class _BoxResult(msgspec.Struct, gc=False):
    """One detection of a box-only results file (detectron2's bbox results, most files):
    every field required, ``segmentation`` absent (``UNSET`` admits no value, so a file
    with masks fails this decoder at its first mask and goes to ``_Result``'s)."""

    image_id: int
    category_id: int
    score: float
    bbox: Tuple[float, float, float, float]
    segmentation: msgspec.UnsetType = msgspec.UNSET


class _CompressedRLE(TypedDict):
    """A mask as detectron2 and lvis-api write it (keys other than these two are dropped)."""

    size: Annotated[List[int], msgspec.Meta(min_length=2, max_length=2)]
    counts: str


class _MaskResult(msgspec.Struct, gc=False):
    """One detection of a results file whose masks are all compressed RLE (the usual mask
    file): the decoder checks each mask's form, so the evaluation does not walk them again."""

    image_id: int
    category_id: int
    score: float
    bbox: Optional[Tuple[float, float, float, float]] = None
    segmentation: Optional[_CompressedRLE] = None


_RESULTS_DECODER = msgspec.json.Decoder(List[_Result])
_MASK_RESULTS_DECODER = msgspec.json.Decoder(List[_MaskResult])
_BOX_RESULTS_DECODER = msgspec.json.Decoder(List[_BoxResult])
_SCALARS = np.dtype([("image_id", np.int64), ("category_id", np.int64), ("score", np.float64)])


_JSON_SPACE = b" \t\r\n"
_BOX_CHUNK = 1 << 20  # bytes of a results file decoded at a time


def _box_record_chunks(f, decode: Callable[[memoryview], list]) -> Optional[list]:
    """``decode`` of a results file's top-level array a piece at a time, or None when the
    file is not an array whose pieces all decode to at least one element (the caller then
    decodes it whole, with that path's errors).

    The file is read into one reused buffer of ``_BOX_CHUNK`` bytes and cut after the last
    ``},`` in it; the piece, closed by ``]`` (and opened by ``[``), is decoded alone. A cut
    inside a string or a nested value leaves that piece invalid (an unclosed string or
    bracket), so when every piece decodes, every cut lay between two top-level elements and
    the pieces' elements are the file's, in order. Decoding 10^6 records at once would hold
    them all (~250 bytes each, most of the process's peak memory, and fresh memory is slow
    to touch); a piece's records are freed before the next piece reuses their memory.
    """
    buf = bytearray(_BOX_CHUNK)
    filled, eof, pieces = 0, False, []
    while True:
        with memoryview(buf) as view:
            while not eof and filled < len(buf):
                got = f.readinto(view[filled:])
                eof = not got
                filled += got or 0
        if not pieces:  # the first read: the array opens after optional whitespace
            start = len(buf[:filled]) - len(buf[:filled].lstrip(_JSON_SPACE))
            if start == filled or buf[start] != ord("["):
                return None
            del buf[:start]
            filled -= start
            buf.extend(bytes(start))
        if eof:
            end = len(buf[:filled].rstrip(_JSON_SPACE))
            if end < 2 or buf[end - 1] != ord("]"):
                return None
            cut, rest = end, end
        else:
            cut = buf.rfind(b"},", 0, filled) + 1
            if cut == 0:  # one record longer than the buffer
                buf.extend(bytes(len(buf)))
                continue
            buf[cut] = ord("]")
            cut, rest = cut + 1, cut + 1
        try:
            with memoryview(buf) as view:
                pieces.append(decode(view[:cut]))
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if not len(pieces[-1]):  # "[]", or "[" + "]" after a trailing comma: not ours to judge
            return None
        if eof:
            return pieces
        # The next piece: "[" + what followed the cut.
        buf[1:1 + filled - rest] = buf[rest:filled]
        buf[0] = ord("[")
        filled = 1 + filled - rest


def _pick(items: Sequence[Any], index: np.ndarray) -> List[Any]:
    """``[items[i] for i in index]`` at C speed (no numpy scalar per element)."""
    return list(map(items.__getitem__, index.tolist()))


@dataclass
class ResultColumns:
    """A results list as columns: what LVISEval reads of it, without one dict per detection.

    Attributes:
        image_id, category_id: (N,) int64; score: (N,) float64.
        bbox: (N, 4) float64 [x, y, w, h], or None when no result has a box.
        segmentation: per result its "segmentation" (None where absent), or None when no
            result has one.
        position: (N,) int64 position of each result in the whole results list, when these
            columns are a part of it (a process's shard); None: 0, 1, ..., N-1.
        compressed_rles: every segmentation is known to be None or a compressed RLE dict
            ({"size": [h, w] ints, "counts": str}, as the mask decoder of ``read`` checks).
    """

    image_id: np.ndarray
    category_id: np.ndarray
    score: np.ndarray
    bbox: Optional[np.ndarray]
    segmentation: Optional[List[Any]]
    position: Optional[np.ndarray] = None
    compressed_rles: bool = False

    def subset(self, keep: np.ndarray) -> "ResultColumns":
        """The results at sorted positions ``keep``, remembering their positions."""
        pos = keep if self.position is None else self.position[keep]
        return ResultColumns(
            image_id=self.image_id[keep], category_id=self.category_id[keep], score=self.score[keep],
            bbox=None if self.bbox is None else self.bbox[keep],
            segmentation=None if self.segmentation is None else _pick(self.segmentation, keep),
            position=np.asarray(pos, dtype=np.int64), compressed_rles=self.compressed_rles,
        )

    def __len__(self) -> int:
        return len(self.score)

    @classmethod
    def from_records(cls, results: Sequence[dict]) -> "ResultColumns":
        """Columns of a list of result dicts; a missing or malformed field is a ValueError."""
        if not isinstance(results, (list, tuple)):
            raise ValueError(f"Results must be a list of detections, got {type(results).__name__}")
        n = len(results)
        has_box = np.fromiter(map(operator.contains, results, itertools.repeat("bbox")), dtype=bool, count=n)
        if has_box.any() and not has_box.all():
            i, j = int(np.argmin(has_box)), int(np.argmax(has_box))
            raise ValueError(f"Result {i} has no 'bbox' but result {j} has one; give all results a bbox or none")
        # The three scalar fields in one pass over the dicts (at 10^6 results, each pass is
        # mostly cache misses); per column, with an error naming the result, if that fails.
        try:
            scalars = np.fromiter(map(itemgetter("image_id", "category_id", "score"), results), _SCALARS, n)
            image_id, category_id, score = (scalars[f].copy() for f in _SCALARS.names)
        except (KeyError, TypeError, ValueError):
            image_id = _column(results, "image_id", np.int64, "result")
            category_id = _column(results, "category_id", np.int64, "result")
            score = _column(results, "score", np.float64, "result")
        segms = [r.get("segmentation") for r in results]
        return cls(
            image_id=image_id, category_id=category_id, score=score,
            bbox=_boxes(results, "result") if n and has_box.all() else None,
            segmentation=segms if segms.count(None) < n else None,
        )

    @classmethod
    def read(cls, path: str, opener=open) -> "ResultColumns":
        """Columns of a results JSON file, decoded by msgspec straight into typed records.

        A file that does not decode as a list of detections (a field missing or of the wrong
        type, NaN literals) is read as plain JSON and checked by ``from_records``, whose
        error names the offending result.
        """
        with _gc_paused():
            with opener(path, "rb") as f:
                if hasattr(f, "readinto"):
                    parts = _box_record_chunks(
                        f, lambda piece: cls._from_box_records(_BOX_RESULTS_DECODER.decode(piece)))
                    if parts:
                        return cls.concatenate(parts)
            try:
                with _file_bytes(path, opener) as raw:
                    boxed, rles = None, False
                    try:
                        boxed = _BOX_RESULTS_DECODER.decode(raw)
                    except msgspec.ValidationError:  # masks, a missing box, a wrong type
                        try:
                            recs, rles = _MASK_RESULTS_DECODER.decode(raw), True
                        except msgspec.ValidationError:  # polygons, uncompressed RLE, ...
                            recs = _RESULTS_DECODER.decode(raw)
            except (msgspec.ValidationError, msgspec.DecodeError):
                return cls.from_records(load_json(path, opener))
            if boxed is not None:  # the file is unmapped by now: its pages leave the peak
                return cls._from_box_records(boxed)
            n = len(recs)
            boxes = list(map(operator.attrgetter("bbox"), recs))
            n_box = n - boxes.count(None)
            if 0 < n_box < n:
                i = boxes.index(None)
                j = next(k for k, b in enumerate(boxes) if b is not None)
                raise ValueError(f"Result {i} has no 'bbox' but result {j} has one; give all results a bbox or none")
            get_segm = operator.attrgetter("segmentation")
            # A list of segmentations only when some result has one (a C-level scan otherwise).
            has_segm = any(map(operator.is_not, map(get_segm, recs), itertools.repeat(None)))
            segms = list(map(get_segm, recs)) if has_segm else None
            scalars = cls._scalar_columns(recs)
            return cls(
                *scalars,
                # fromiter over the flattened tuples: half the time of np.array on 10^6 tuples.
                bbox=(np.fromiter(itertools.chain.from_iterable(boxes), np.float64, 4 * n).reshape(n, 4)
                      if n and n_box == n else None),
                segmentation=segms, compressed_rles=rles,
            )

    @classmethod
    def concatenate(cls, parts: Sequence["ResultColumns"]) -> "ResultColumns":
        """One results list of consecutive parts (all with boxes and no masks, positions unset)."""
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("image_id", "category_id", "score", "bbox")),
                   segmentation=None)

    @staticmethod
    def _scalar_columns(recs: Sequence[Any]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(recs)
        return (np.fromiter(map(operator.attrgetter("image_id"), recs), np.int64, n),
                np.fromiter(map(operator.attrgetter("category_id"), recs), np.int64, n),
                np.fromiter(map(operator.attrgetter("score"), recs), np.float64, n))

    @classmethod
    def _from_box_records(cls, recs: List[_BoxResult]) -> "ResultColumns":
        """Columns of decoded box-only records: every record has its 4 numbers, so there is
        nothing to check and no segmentation to look for."""
        n = len(recs)
        boxes = itertools.chain.from_iterable(map(operator.attrgetter("bbox"), recs))
        return cls(*cls._scalar_columns(recs),
                   bbox=np.fromiter(boxes, np.float64, 4 * n).reshape(n, 4) if n else None,
                   segmentation=None)


def _load_json(obj, what: str):
    if isinstance(obj, (str, os.PathLike)):
        if not os.path.isfile(obj):
            raise FileNotFoundError(f"{what} file {obj} does not exist")
        return load_json(obj)
    return obj


def _result_columns(results) -> ResultColumns:
    """Results given as a path, a list of dicts or columns, as columns."""
    if isinstance(results, ResultColumns):
        return results
    if isinstance(results, (str, os.PathLike)):
        if not os.path.isfile(results):
            raise FileNotFoundError(f"Results file {results} does not exist")
        return ResultColumns.read(results)
    return ResultColumns.from_records(results)


def _column(records: Sequence[dict], key: str, dtype, what: str) -> np.ndarray:
    """``records[i][key]`` for all i as an array; a missing or non-numeric value is a ValueError."""
    try:
        return np.fromiter(map(itemgetter(key), records), dtype=dtype, count=len(records))
    except (KeyError, TypeError, ValueError):
        for i, r in enumerate(records):
            if not isinstance(r, dict) or key not in r:
                raise ValueError(f"{what} {i} has no '{key}'") from None
            try:
                dtype(r[key])
            except (TypeError, ValueError):
                raise ValueError(f"{what} {i} has a non-numeric '{key}': {r[key]!r}") from None
        raise


def _boxes(records: Sequence[dict], what: str) -> np.ndarray:
    """The [x, y, w, h] boxes of ``records`` as an (n, 4) float64 array."""
    if len(records) == 0:
        return np.zeros((0, 4))
    n = len(records)
    try:
        listed = list(map(itemgetter("bbox"), records))
        # Lists of 4 numbers, the usual case: fromiter over them flattened is ~2x faster than
        # np.array on 10^6 small lists (same values; the same inputs fail).
        if set(map(type, listed)) <= {list, tuple} and set(map(len, listed)) == {4}:
            boxes = np.fromiter(itertools.chain.from_iterable(listed), np.float64, 4 * n).reshape(n, 4)
        else:
            boxes = np.array(listed, dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        boxes = None
    if boxes is None or boxes.shape != (len(records), 4):
        for i, r in enumerate(records):
            box = r.get("bbox") if isinstance(r, dict) else None
            if not isinstance(box, (list, tuple, np.ndarray)) or len(box) != 4:
                raise ValueError(f"{what} {i} has bbox {box!r}; expected [x, y, width, height]")
        raise ValueError(f"{what}: bboxes must be lists of 4 numbers")
    return boxes.reshape(len(records), 4)


def _positions(sorted_ids: np.ndarray, ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` in ``sorted_ids`` and whether each id is there at all.

    When the ids span a range not much larger than the arrays, a lookup table indexed by id
    replaces the binary search (a few times faster on 10^6 ids: one gather instead of ~20
    cache-missing probes each).
    """
    if len(sorted_ids) == 0 or len(ids) == 0:
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    lo, hi = int(sorted_ids[0]), int(sorted_ids[-1])
    if hi - lo <= 4 * (len(ids) + len(sorted_ids)) + 2**20:
        table = np.full(hi - lo + 1, -1, dtype=np.int64)
        table[sorted_ids - lo] = np.arange(len(sorted_ids))
        inside = (ids >= lo) & (ids <= hi)
        if inside.all():  # the usual case: one gather, no masked copies
            pos = table[ids - lo]
        else:
            pos = np.full(len(ids), -1, dtype=np.int64)
            pos[inside] = table[ids[inside] - lo]
        found = pos >= 0
        return np.where(found, pos, np.searchsorted(sorted_ids, ids) if not found.all() else pos), found
    pos = np.searchsorted(sorted_ids, ids)
    found = sorted_ids[np.minimum(pos, len(sorted_ids) - 1)] == ids
    return pos, found


def _required_positions(
    sorted_ids: np.ndarray, ids: np.ndarray, missing: Callable[[int], str]
) -> np.ndarray:
    """Positions of ``ids`` in ``sorted_ids``, all of which must be there: else a
    ``ValueError(missing(i))`` for the first entry ``i`` that is not."""
    pos, found = _positions(sorted_ids, ids)
    if not found.all():
        raise ValueError(missing(int(np.argmin(found))))
    return pos


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct integer keys (np.unique, and np.isin through it, import numpy.ma on
    first use: a tenth of a second of a small evaluation)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys


def _unique_ids(ids: np.ndarray, what: str) -> np.ndarray:
    """Sorting order of ``ids``; a repeated id is a ValueError."""
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(np.diff(ids[order]) == 0)
    if dup.size:
        raise ValueError(f"{what} id {ids[order][dup[0]]} occurs more than once")
    return order


def _to_rle(segm, height: int, width: int, what: str) -> dict:
    """A polygon list, uncompressed or compressed RLE as compressed RLE (lvis-api's ann_to_rle)."""
    if isinstance(segm, list):
        if not segm:
            raise ValueError(f"{what} has an empty polygon list")
        return mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    if isinstance(segm, dict) and "counts" in segm and "size" in segm:
        if list(segm["size"]) != [height, width]:
            raise ValueError(
                f"{what} has an RLE of size {list(segm['size'])} on an image of size "
                f"[{height}, {width}]"
            )
        if isinstance(segm["counts"], list):
            return mask_utils.frPyObjects(segm, height, width)
        return segm
    raise ValueError(f"{what} has segmentation {type(segm).__name__}; expected polygons or RLE")


def _rle_sizes_are(rles: List[dict], sizes: np.ndarray) -> bool:
    """Whether compressed RLE ``rles[i]`` (known to have a 2-int size) has size ``sizes[i]``,
    (N, 2): the sizes go into one array (cheaper than comparing 10^5 lists)."""
    flat = np.fromiter(itertools.chain.from_iterable(map(itemgetter("size"), rles)), np.int64, 2 * len(rles))
    return np.array_equal(flat.reshape(-1, 2), sizes)


def _compressed_rles_of_size(segms: List[Any], sizes: List[List[int]]) -> bool:
    """Whether every ``segms[i]`` is a compressed RLE dict (string counts) of size ``sizes[i]``
    (what ``_to_rle`` would return unchanged)."""
    if not set(map(type, segms)) <= {dict}:
        return False
    try:
        counts = set(map(type, map(itemgetter("counts"), segms)))
        return counts <= {str, bytes} and list(map(itemgetter("size"), segms)) == sizes
    except KeyError:
        return False


def _mask_area(rles: List[dict]) -> np.ndarray:
    """Mask areas; in chunks of 255 because pycocotools.mask.area fails on longer lists
    (it builds a throw-away uint8 array holding the list length, which numpy 2 rejects)."""
    chunks = [mask_utils.area(rles[i : i + 255]) for i in range(0, len(rles), 255)]
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)


_IOU_BLOCK = 1 << 18  # pairs per block of _box_iou_of_pairs (its temporaries stay small and reused)


def _box_iou_of_pairs(dt: np.ndarray, gt: np.ndarray, pair_dt: np.ndarray, pair_gt: np.ndarray) -> np.ndarray:
    """``box_iou_pairs(dt[pair_dt], gt[pair_gt])`` a block of pairs at a time: at LVIS val size
    there are ~10^7 pairs, and the full-size gathers and temporaries were 10x the output's
    memory, all of it fresh."""
    iou = np.empty(len(pair_dt))
    for s in range(0, len(pair_dt), _IOU_BLOCK):
        e = s + _IOU_BLOCK
        iou[s:e] = box_iou_pairs(dt[pair_dt[s:e]], gt[pair_gt[s:e]])
    return iou


def box_iou_pairs(dt: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of boxes ``dt[i]`` and ``gt[i]`` ([x, y, w, h], (n, 4) each), element-wise.

    The arithmetic is pycocotools' ``bbIou`` operation for operation (intersection
    ``w * h``, union ``(da + ga) - i``, 0 unless both overlaps are positive), so the values
    are bit-identical to ``pycocotools.mask.iou``.
    """
    w = np.minimum(dt[:, 2] + dt[:, 0], gt[:, 2] + gt[:, 0]) - np.maximum(dt[:, 0], gt[:, 0])
    h = np.minimum(dt[:, 3] + dt[:, 1], gt[:, 3] + gt[:, 1]) - np.maximum(dt[:, 1], gt[:, 1])
    inter = w * h
    union = dt[:, 2] * dt[:, 3] + gt[:, 2] * gt[:, 3] - inter
    overlap = (w > 0) & (h > 0)
    iou = np.zeros(len(dt))
    np.divide(inter, union, out=iou, where=overlap)
    return iou


def top_per_class(cat: np.ndarray, score: np.ndarray, position: np.ndarray, k: int) -> np.ndarray:
    """Which detections are among the ``k`` highest-scoring of their category (ties: lower
    ``position``, i.e. earlier in the results list), as a boolean mask: AP-fixed's budget."""
    order = np.lexsort((position, -score, cat))
    by_cat = cat[order]
    rank = np.arange(len(cat)) - np.searchsorted(by_cat, by_cat, side="left")
    keep = np.zeros(len(cat), dtype=bool)
    keep[order[rank < k]] = True
    return keep


# Bits of _GroundTruth.key_flags, and the most (image, category) keys it tabulates.
_POSITIVE, _NEGATIVE, _NOT_EXHAUSTIVE = 1, 2, 4
_KEY_TABLE_MAX = 2**26


class _GroundTruth:
    """An LVIS-format ground-truth dict as arrays (annotations lvis-api would drop are dropped)."""

    def __init__(self, gt: dict):
        if not isinstance(gt, dict):
            raise ValueError(f"Ground truth must be an LVIS-format dict, got {type(gt).__name__}")
        for key in ("images", "annotations", "categories"):
            if key not in gt:
                raise ValueError(f"Ground truth has no '{key}' list; is it an LVIS-format file?")
        images, anns, cats = gt["images"], gt["annotations"], gt["categories"]

        img_ids = _column(images, "id", np.int64, "image")
        order = _unique_ids(img_ids, "image")
        self.img_ids = img_ids[order]
        self.images = [images[i] for i in order]

        cat_ids = _column(cats, "id", np.int64, "category")
        order = _unique_ids(cat_ids, "category")
        self.cat_ids = cat_ids[order]
        self.categories = [cats[i] for i in order]
        self.frequency = []
        for c in self.categories:
            if c.get("frequency") not in FREQUENCY_GROUPS:
                raise ValueError(
                    f"Category {c['id']} has frequency {c.get('frequency')!r}; LVIS evaluation "
                    "needs 'r', 'c' or 'f' (rare/common/frequent) in every category"
                )
            self.frequency.append(c["frequency"])
        self.names = [str(c.get("name", c["id"])) for c in self.categories]
        self.image_count = np.array(
            [float(c.get("image_count", np.nan)) for c in self.categories], dtype=np.float64
        )

        ann_ids = _column(anns, "id", np.int64, "annotation")
        _unique_ids(ann_ids, "annotation")
        if (ann_ids == 0).any():
            # lvis-api stores matches as annotation ids and reads 0 as "no match".
            raise ValueError("Annotation id 0 found; LVIS evaluation needs ids >= 1, renumber them")
        ann_img_ids = _column(anns, "image_id", np.int64, "annotation")
        img = _required_positions(
            self.img_ids, ann_img_ids,
            lambda i: f"Annotation {ann_ids[i]} has image_id {ann_img_ids[i]}, not an image of the file",
        )
        ann_cat_ids = _column(anns, "category_id", np.int64, "annotation")
        cat = _required_positions(
            self.cat_ids, ann_cat_ids,
            lambda i: f"Annotation {ann_ids[i]} has category_id {ann_cat_ids[i]}, not a category of the file",
        )
        area = _column(anns, "area", np.float64, "annotation")
        boxes = _boxes(anns, "annotation")
        if not (np.isfinite(area).all() and np.isfinite(boxes).all()):
            i = int(np.argmin(np.isfinite(area) & np.isfinite(boxes).all(1)))
            raise ValueError(f"Annotation {ann_ids[i]} has a non-finite area or bbox")
        ignore = np.fromiter((bool(a.get("ignore", 0)) for a in anns), dtype=bool, count=len(anns))

        # lvis-api's get_ann_ids keeps annotations with 0 < area < inf only.
        keep = np.flatnonzero((area > 0) & (area < np.inf))
        self.ann_index = keep  # position in gt["annotations"]
        self.img, self.cat, self.area = img[keep], cat[keep], area[keep]
        self.boxes, self.ignore = boxes[keep], ignore[keep]
        self._anns = anns
        self._rles = None
        self._mask_area: Optional[np.ndarray] = None
        self._sizes = None

        num_cats = len(self.cat_ids)
        # Categories with (non-ignored) ground truth; the others are left out of every mean.
        self.has_gt = np.zeros(num_cats, dtype=bool)
        self.has_gt[self.cat[~self.ignore]] = True
        self.pos_keys = _sorted_unique(self.img * num_cats + self.cat)
        self.neg_keys = self._image_category_keys("neg_category_ids")
        self.not_exhaustive_keys = self._image_category_keys("not_exhaustive_category_ids")

    def key_flags(self, keys: np.ndarray) -> np.ndarray:
        """What the ground truth says of each (image, category) key ``image * K + category``:
        uint8 bits ``_POSITIVE`` (the category has annotations there), ``_NEGATIVE`` (in the
        image's neg_category_ids), ``_NOT_EXHAUSTIVE`` (in its not_exhaustive_category_ids).

        A byte table over all keys (2.4 MB for 2,000 images x 1,203 categories, 24 MB at
        LVIS v1 val size) replaces three binary searches per key; beyond 2^26 keys, or when
        the table would dwarf the keys looked up, binary search it is.
        """
        lists = ((self.pos_keys, _POSITIVE), (self.neg_keys, _NEGATIVE),
                 (self.not_exhaustive_keys, _NOT_EXHAUSTIVE))
        size = len(self.img_ids) * len(self.cat_ids)
        if size <= min(_KEY_TABLE_MAX, 16 * len(keys) + 2**22):
            table = np.zeros(size, dtype=np.uint8)
            for sorted_keys, bit in lists:
                table[sorted_keys] |= bit
            return table[keys]
        flags = np.zeros(len(keys), dtype=np.uint8)
        for sorted_keys, bit in lists:
            flags[_positions(sorted_keys, keys)[1]] |= bit
        return flags

    def _image_category_keys(self, field: str) -> np.ndarray:
        """Sorted ``image * K + category`` keys of an image-level category list."""
        lengths = []
        for img in self.images:
            if not isinstance(img.get(field), list):
                raise ValueError(
                    f"Image {img['id']} has no '{field}' list; LVIS-format images need it "
                    "(use [] when there is nothing to list)"
                )
            lengths.append(len(img[field]))
        flat = np.fromiter(
            itertools.chain.from_iterable(img[field] for img in self.images),
            dtype=np.int64, count=int(sum(lengths)),
        )
        img = np.repeat(np.arange(len(self.images)), lengths)
        cat, found = _positions(self.cat_ids, flat)
        return _sorted_unique(img[found] * len(self.cat_ids) + cat[found])

    def image_sizes(self) -> List[List[int]]:
        """[height, width] of every image (sorted by id); masks need them."""
        if self._sizes is None:
            for img in self.images:
                if "height" not in img or "width" not in img:
                    raise ValueError(f"Image {img['id']} has no height/width; mask evaluation needs them")
            self._sizes = [[img["height"], img["width"]] for img in self.images]
        return self._sizes

    def mask_area(self) -> np.ndarray:
        """Pixel count of every kept annotation's mask (its ``area`` field may differ)."""
        if self._mask_area is None:
            self._mask_area = _mask_area(self.rles())
        return self._mask_area

    def rles(self) -> List[dict]:
        """Compressed RLE of every kept annotation (computed once)."""
        if self._rles is None:
            sizes, rles = self.image_sizes(), []
            for i, k in zip(self.ann_index.tolist(), self.img.tolist()):
                ann = self._anns[i]
                if "segmentation" not in ann:
                    raise ValueError(f"Annotation {ann['id']} has no segmentation for segm evaluation")
                rles.append(_to_rle(ann["segmentation"], *sizes[k], f"annotation {ann['id']}"))
            self._rles = rles
        return self._rles


class _Detections:
    """A results list as arrays, after the per-class budget, the per-image cap, the area filter
    and the federated filter."""

    def __init__(self, results: ResultColumns, gt: _GroundTruth, max_dets: int, areas_from_masks: bool,
                 dets_per_class: int = -1, keep_categories_without_gt: bool = False,
                 allow_empty: bool = False):
        n = len(results)
        if n == 0 and not allow_empty:
            raise ValueError(
                "The results list is empty: LVIS AP is undefined without detections "
                "(lvis-api fails on it too); check the model's outputs"
            )
        img_ids, cat_ids, scores = results.image_id, results.category_id, results.score
        img = _required_positions(
            gt.img_ids, img_ids,
            lambda i: f"Result {i} has image_id {img_ids[i]}, which is not an image of the ground truth",
        )
        cat = _required_positions(
            gt.cat_ids, cat_ids,
            lambda i: f"Result {i} has category_id {cat_ids[i]}, which is not a category of the "
            "ground truth (map contiguous class ids back to dataset ids)",
        )
        if np.isnan(scores).any():
            i = int(np.argmax(np.isnan(scores)))
            raise ValueError(f"Result {i} (image_id {img_ids[i]}, category_id {cat_ids[i]}) has score NaN")

        boxes = None if areas_from_masks else results.bbox
        if boxes is not None and not np.isfinite(boxes).all():
            i = int(np.argmin(np.isfinite(boxes).all(1)))
            raise ValueError(
                f"Result {i} (image_id {img_ids[i]}) has a non-finite bbox {boxes[i].tolist()}"
            )

        keep = None  # positions in the results list of the detections still in; None: all
        # AP-fixed's per-class budget (Dave et al. 2021): the top dets_per_class scores of each
        # category over the whole set, ties in file order, before anything else drops any
        # (as the paper's code cuts the results file before lvis-api reads it).
        if dets_per_class >= 0:
            pos = np.arange(n) if results.position is None else results.position
            keep = np.flatnonzero(top_per_class(cat, scores, pos, dets_per_class))
            img, cat, scores = img[keep], cat[keep], scores[keep]
        # The cap, the federated rule and (for boxes) the area filter as one mask over the
        # detections still in, so each column is gathered once (fresh arrays are slow here).
        # Per-image cap: the top max_dets scores per image, ties in file order. Only images
        # over the cap are sorted (none, for a detector that caps its own outputs).
        ok = None
        if max_dets >= 0:
            crowded = np.flatnonzero(np.bincount(img, minlength=len(gt.img_ids))[img] > max_dets)
            if len(crowded):
                by_img = img[crowded]
                order = np.lexsort((crowded, -scores[crowded], by_img))
                by_img = by_img[order]
                rank = np.arange(len(order)) - np.searchsorted(by_img, by_img, side="left")
                ok = np.ones(len(img), dtype=bool)
                ok[crowded[order[rank >= max_dets]]] = False
        self._segms = results.segmentation
        self._gt = gt

        # Federated rule: keep categories the image's ground truth speaks about (positive or
        # negative). It commutes with the area filter, and running it before the masks'
        # areas spares mask decoding for the detections it drops. Detections of categories
        # without non-ignored ground truth go too unless keep_categories_without_gt (AP-pool
        # counts them as false positives of their pool): per category such a category is -1
        # in every area range (each range is inside "all") and left out of every mean, and
        # matching never crosses categories, so they cannot change a per-category number.
        flags = gt.key_flags(img * len(gt.cat_ids) + cat)
        spoken_of = (flags & (_POSITIVE | _NEGATIVE)) != 0
        ok = spoken_of if ok is None else ok & spoken_of
        if not keep_categories_without_gt:
            ok &= gt.has_gt[cat]
        if boxes is not None:
            self.box_area = True
            if keep is not None:
                boxes = boxes[keep]
            area = boxes[:, 2] * boxes[:, 3]
            ok &= (area > 0) & (area < np.inf)  # lvis-api's area filter
            sel = np.flatnonzero(ok)
            boxes, area, rles = boxes[sel], area[sel], None
        else:
            # Mask-only results: area (and, when needed, the box) come from the mask.
            self.box_area = False
            segms = results.segmentation
            if n and (segms is None or None in segms):
                i = 0 if segms is None else segms.index(None)
                raise ValueError(f"Result {i} has neither 'bbox' nor 'segmentation'")
            sizes = gt.image_sizes()
            sel = np.flatnonzero(ok)
            at = sel if keep is None else keep[sel]
            rles = _pick(segms, at) if len(at) else []  # (an empty shard may have no segms)
            # The usual case, checked in C-level passes: every mask a compressed RLE of its
            # image's size, used as it is; otherwise each goes through _to_rle.
            if results.compressed_rles:
                as_is = _rle_sizes_are(rles, np.asarray(sizes, dtype=np.int64).reshape(-1, 2)[img[sel]])
            else:
                as_is = _compressed_rles_of_size(rles, _pick(sizes, img[sel]))
            if not as_is:
                rles = [_to_rle(segm, sizes[k][0], sizes[k][1], f"result {i}")
                        for segm, i, k in zip(rles, at.tolist(), img[sel].tolist())]
            area = _mask_area(rles)
            valid = np.flatnonzero((area > 0) & (area < np.inf))  # lvis-api's area filter
            if len(valid) < len(sel):
                sel, area, rles = sel[valid], area[valid], _pick(rles, valid)

        position = sel if keep is None else keep[sel]
        self._local = position  # position in ``results`` (its segmentation list)
        # Position in the results list (file order, for ties); a shard's positions are global.
        self.index = position if results.position is None else results.position[position]
        self.img, self.cat, self.score, self.area = img[sel], cat[sel], scores[sel], area
        self.not_exhaustive = (flags[sel] & _NOT_EXHAUSTIVE) != 0
        self._boxes = boxes
        self._rles = rles

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) [x, y, w, h] boxes; for mask-only results the masks' boxes (computed once)."""
        if self._boxes is None:
            self._boxes = mask_utils.toBbox(self._rles).astype(np.float64).reshape(-1, 4)
        return self._boxes

    def rles(self) -> List[dict]:
        """Compressed RLE of every kept detection (a box-only result becomes its box polygon)."""
        if self._rles is None:
            sizes, rles = self._gt.image_sizes(), []
            for i, k, box in zip(self._local.tolist(), self.img.tolist(), self.boxes.tolist()):
                segm = None if self._segms is None else self._segms[i]
                if segm is None:  # lvis-api evaluates a box-only result's box as its mask
                    x1, y1, w, h = box
                    segm = [[x1, y1, x1, y1 + h, x1 + w, y1 + h, x1 + w, y1]]
                rles.append(_to_rle(segm, *sizes[k], f"result {i}"))
            self._rles = rles
        return self._rles


def _segm_iou_pairs(dt_rles: List[dict], gt_rles: List[dict], dt_group: np.ndarray, gt_group: np.ndarray,
                    pair_dt: np.ndarray, pair_gt: np.ndarray, pair_start: np.ndarray, gt_lo: np.ndarray,
                    candidates: Optional[np.ndarray] = None) -> np.ndarray:
    """Mask IoU of the (detection, ground truth) pairs of equal group, one pycocotools call per
    group, for the detections and ground truth that are in a candidate pair.

    Args:
        dt_rles, gt_rles: masks, detections sorted by group, ground truth sorted by group.
        dt_group, gt_group: their sorted groups.
        pair_dt, pair_gt: (P,) the pairs, by detection and then ground truth (each group's
            (n_dt, n_gt) matrix, row-major), as ``LVISEval.match`` builds them.
        pair_start: per detection, the position of its first pair.
        gt_lo: per detection, the first ground truth of its group.
        candidates: (P,) bool per pair, the pairs whose IoU is needed (None: all). A group's
            call covers the detections and ground truth with a candidate pair, so a few
            pairs beyond the candidates get their IoU too; the rest are 0.

    Returns:
        (P,) IoUs in pair order.
    """
    iou = np.zeros(len(pair_dt))
    sel = pair_dt if candidates is None else pair_dt[candidates]
    if sel.size == 0:
        return iou
    rows = _sorted_unique(sel)
    cols = _sorted_unique(pair_gt if candidates is None else pair_gt[candidates])
    # Both lists in group order; every group with a candidate row has a candidate column.
    row_first = np.flatnonzero(np.r_[True, dt_group[rows][1:] != dt_group[rows][:-1]])
    col_first = np.flatnonzero(np.r_[True, gt_group[cols][1:] != gt_group[cols][:-1]])
    row_end, col_end = np.r_[row_first[1:], len(rows)], np.r_[col_first[1:], len(cols)]
    dts, gts = _pick(dt_rles, rows), _pick(gt_rles, cols)
    no_crowd = np.zeros(int((col_end - col_first).max()), dtype=np.uint8)
    values = [np.asarray(mask_utils.iou(dts[a:b], gts[c:d], no_crowd[: d - c]), dtype=np.float64).ravel()
              for a, b, c, d in zip(row_first.tolist(), row_end.tolist(), col_first.tolist(), col_end.tolist())]
    # The position of each computed (row, column) pair: rows in order, each with its group's
    # columns in order (the matrices' row-major order).
    group_of_row = np.repeat(np.arange(len(row_first)), row_end - row_first)
    per_row = (col_end - col_first)[group_of_row]
    rep = np.repeat(np.arange(len(rows)), per_row)
    col = cols[col_first[group_of_row][rep] + np.arange(len(rep)) - np.repeat(np.cumsum(per_row) - per_row, per_row)]
    r = rows[rep]
    iou[pair_start[r] + col - gt_lo[r]] = np.concatenate(values)
    return iou


def greedy_match(
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    pair_iou: np.ndarray,
    dt_rank: np.ndarray,
    gt_ignore: np.ndarray,
    thresholds: np.ndarray = IOU_THRESHOLDS,
) -> Tuple[np.ndarray, np.ndarray]:
    """LVIS/COCO greedy matching for all groups, thresholds and area ranges at once.

    A group is one (image, category). Detections of a group are visited in rank order (rank 0
    = highest score); each takes, among its group's ground truth not yet taken at that
    threshold and area range, one with IoU >= threshold, preferring non-ignored ground truth,
    then the highest IoU, then the last in file order. Groups advance in lock step, one rank
    per iteration, so the Python loop runs once per rank that has a pair of IoU >= the lowest
    threshold (a dozen on LVIS-like data, whatever the detections per group).

    Args:
        pair_dt, pair_gt, pair_iou: the (detection, ground truth, IoU) pairs of equal group,
            ordered by detection and then by ground truth in file order.
        dt_rank: (num_dt,) rank of each detection within its group.
        gt_ignore: (A, num_gt) whether a ground truth is ignored in area range a.
        thresholds: (T,) IoU thresholds.

    Returns:
        (matched, matched_ignored), both (T, A, num_dt) bool: whether a detection took a
        ground truth, and whether that ground truth is ignored.
    """
    num_thr, (num_area, num_gt), num_dt = len(thresholds), gt_ignore.shape, len(dt_rank)
    matched = np.zeros((num_thr, num_area, num_dt), dtype=bool)
    matched_ignored = np.zeros_like(matched)
    if len(pair_dt) == 0:
        return matched, matched_ignored
    taken = np.zeros((num_thr, num_area, num_gt), dtype=bool)
    # 2 = regular ground truth, 1 = ignored ground truth, 0 = not available.
    preference = (2 - gt_ignore).astype(np.int8)
    thr = np.asarray(thresholds, dtype=np.float64)[:, None, None]

    # A pair below the lowest threshold can be taken at no threshold, and the rules below
    # compare only pairs that can be taken: dropping it changes no match. On LVIS-like data
    # that is ~95% of the pairs (a detection overlaps most ground truth of its image and
    # category a little), and the loop below then runs over the few ranks that still have pairs.
    usable = np.flatnonzero(pair_iou >= thr.min())
    if len(usable) == 0:
        return matched, matched_ignored
    pair_dt, pair_gt, pair_iou = pair_dt[usable], pair_gt[usable], pair_iou[usable]
    pair_rank = dt_rank[pair_dt]
    order = np.argsort(pair_rank, kind="stable")
    pair_dt, pair_gt, pair_iou, pair_rank = pair_dt[order], pair_gt[order], pair_iou[order], pair_rank[order]
    bounds = np.flatnonzero(np.r_[True, pair_rank[1:] != pair_rank[:-1], True])  # one run per rank
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        d, g, v = pair_dt[start:end], pair_gt[start:end], pair_iou[start:end]
        first = np.empty(len(d), dtype=bool)
        first[0] = True
        np.not_equal(d[1:], d[:-1], out=first[1:])
        seg_start = np.flatnonzero(first)
        seg = np.cumsum(first) - 1

        ok = (v >= thr) & ~taken[:, :, g]  # (T, A, P)
        pref = np.where(ok, preference[:, g], np.int8(0))
        ok &= pref == np.maximum.reduceat(pref, seg_start, axis=2)[:, :, seg]
        val = np.where(ok, v, -1.0)
        ok &= val == np.maximum.reduceat(val, seg_start, axis=2)[:, :, seg]
        last = np.where(ok, np.arange(len(d)), -1)
        best = np.maximum.reduceat(last, seg_start, axis=2)  # (T, A, detections of this rank)

        ti, ai, di = np.nonzero(best >= 0)
        p = best[ti, ai, di]
        taken[ti, ai, g[p]] = True
        matched[ti, ai, d[p]] = True
        matched_ignored[ti, ai, d[p]] = gt_ignore[ai, g[p]]
    return matched, matched_ignored


def _min_count_for_recall(num_gt: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Smallest integer m with ``m / num_gt >= recall`` in float64, as an (S, R) array.

    lvis-api finds recall points with ``searchsorted(tp / num_gt, r)``; since division by a
    fixed num_gt is monotone, that index is the first position where ``tp >= m``.
    """
    n = num_gt.astype(np.float64)[:, None]
    m = np.clip(np.ceil(recall[None, :] * n), 0, n)
    while True:  # correct the rounding of ceil(r * n) by at most a step or two
        up = m / n < recall
        down = (m > 0) & ((m - 1) / n >= recall)
        if not (up.any() or down.any()):
            return m.astype(np.int64)
        m = m + up - down


def _segment_suffix_max(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """``out[i] = max(values[j] for j >= i in the same segment)``, ``segment`` non-decreasing.

    Exact (each output is one of the inputs): the values are replaced by their ranks, a
    segment offset larger than any rank is added so that earlier segments dominate, and a
    running maximum from the right over the integers resets at each segment's end.
    """
    n = len(values)
    if n == 0:
        return values.copy()
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    offset = (segment[-1] - segment) * n
    best = np.maximum.accumulate((offset + ranks)[::-1])[::-1] - offset
    return values[order[best]]


def accumulate(
    tp: np.ndarray, counted: np.ndarray, cat: np.ndarray, num_gt: np.ndarray, num_cats: int,
    precision: Optional[np.ndarray] = None, recall: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Precision at the recall points and final recall per threshold and category.

    lvis-api computes precision ``tp / (fp + tp)`` after every detection, replaces it by its
    running maximum from the right and reads it at the first detection reaching each recall
    point. Precision only rises at a true positive, so that right-to-left maximum equals the
    maximum over the true positives at or after the position, and the first detection
    reaching recall m / num_gt is the m-th true positive: everything is computed on the
    true positives alone, with the same float operations (same values). The (recall point,
    category) reading is one gather per threshold into the output, through buffers reused
    across thresholds (fresh memory is slow to touch).

    Args:
        tp: (T, N) bool, true positives, detections ranked per category (category-major).
        counted: (T, N) bool, detections that are not ignored (true and false positives;
            every true positive is counted).
        cat: (N,) category index of each detection (non-decreasing).
        num_gt: (K,) number of non-ignored ground truth per category.
        num_cats: K.
        precision, recall: optional (T, R, K) and (T, K) arrays to write into.

    Returns:
        precision (T, R, K) and recall (T, K); -1 for categories with num_gt == 0.
    """
    num_thr = tp.shape[0]
    num_rec = len(RECALL_THRESHOLDS)
    precision = np.empty((num_thr, num_rec, num_cats)) if precision is None else precision
    recall = np.empty((num_thr, num_cats)) if recall is None else recall
    cats = np.flatnonzero(num_gt > 0)
    if cats.size == 0:
        precision.fill(-1.0)
        recall.fill(-1.0)
        return precision, recall
    every_cat = len(cats) == num_cats
    if not every_cat:
        recall.fill(-1.0)
    all_cats = np.arange(num_cats)
    seg_start = np.searchsorted(cat, all_cats, side="left")
    # The k-th recall point needs first[k] + 1 true positives (recall 0 reads from the first).
    first = np.ascontiguousarray(
        (np.maximum(_min_count_for_recall(num_gt[cats], RECALL_THRESHOLDS), 1) - 1).T)  # (R, S)
    gather = np.empty(first.shape, dtype=np.int64)
    unreached = np.empty(first.shape, dtype=bool)
    values = None if every_cat else np.empty(first.shape)
    for t in range(num_thr):
        pos = np.flatnonzero(tp[t])  # true positives in rank order, (M,)
        c = cat[pos]
        tp_start = np.searchsorted(c, all_cats, side="left")
        tp_end = np.searchsorted(c, all_cats, side="right")
        n_tp = np.arange(1, len(pos) + 1) - tp_start[c]  # true positives up to here, >= 1
        # Counted detections of the category up to each true positive (itself included; a
        # true positive is counted): positions in the list of counted ones, no (N,) cumsum.
        counted_pos = np.flatnonzero(counted[t])
        counted_before = np.searchsorted(counted_pos, seg_start)  # counted of lower categories
        n_fp = np.searchsorted(counted_pos, pos) + 1 - counted_before[c] - n_tp
        tpf = n_tp.astype(np.float64)
        pr = tpf / (n_fp.astype(np.float64) + tpf + np.spacing(1))
        # Precision at recall point k: the maximum of pr over the category's true positives
        # from its (first[k] + 1)-th on; 0 where the category never reaches that recall.
        best = np.append(_segment_suffix_max(pr, c), 0.0)
        start, n_cat = tp_start[cats], (tp_end - tp_start)[cats]
        np.add(first, start, out=gather)
        np.greater_equal(first, n_cat, out=unreached)
        np.copyto(gather, len(pos), where=unreached)  # -> the appended 0
        if every_cat:
            np.take(best, gather, out=precision[t])
        else:
            np.take(best, gather, out=values)
            precision[t].fill(-1.0)
            precision[t][:, cats] = values
        recall[t, cats] = n_cat / num_gt[cats]
    return precision, recall


def _mean_defined(values: np.ndarray) -> float:
    """Mean over entries > -1, or -1 when there are none (lvis-api's ``np.mean(s[s > -1])``).

    An entry of a precision or recall array is -1 exactly when its last index (a category,
    or a pool) has no ground truth, whatever the leading indices; so the entries > -1 are the
    last-axis columns defined in the first row. Their mean is taken as the sum of the
    columns' sums over their number of entries: no copy of the defined entries (a 10 MB
    temporary on LVIS, the evaluation's peak memory). The summation order differs from
    lvis-api's pairwise sum over the copy, by rounding only (~1e-16 on AP).
    """
    if values.size == 0:
        return -1.0
    columns = values.reshape(-1, values.shape[-1])
    defined = columns[0] > -1
    count = int(defined.sum())
    if count == 0:
        return -1.0
    return float(columns.sum(axis=0)[defined].sum() / (count * len(columns)))


@dataclass
class LVISEvalResult:
    """Everything one LVIS evaluation (one IoU type) produced.

    Attributes:
        iou_type: "bbox" or "segm".
        metrics: lvis-api's summary (AP, AP50, AP75, APs, APm, APl, APr, APc, APf,
            AR@300, ARs@300, ARm@300, ARl@300) as fractions; -1 where undefined.
        precision: (T, R, K, A) precision at IoU threshold t, recall point r, category k,
            area range a (``AREA_RANGES`` order); -1 where k has no ground truth in a.
            Only area "all" is kept from the evaluation (the summary needs the other areas
            once, one at a time); the whole array is computed again from the matching on
            first access (40 MB on LVIS, most of an evaluation's fresh memory).
        recall: (T, K, A) final recall, -1 likewise.
        cat_ids, names, frequency, image_count: per category (sorted by id); image_count
            is the categories' ``image_count`` (training images), NaN where absent.
        area_precision: area index -> (T, R, K) precision of that area range.
    """

    iou_type: str
    metrics: Dict[str, float]
    recall: np.ndarray
    cat_ids: np.ndarray
    names: List[str]
    frequency: List[str]
    image_count: np.ndarray
    area_precision: Callable[[int], np.ndarray] = field(repr=False, compare=False)
    _precision: Optional[np.ndarray] = field(default=None, init=False, repr=False, compare=False)

    @property
    def precision(self) -> np.ndarray:
        if self._precision is None:
            self._precision = np.stack([self.area_precision(a) for a in range(len(AREA_RANGES))], axis=-1)
        return self._precision

    def per_class_ap(self, area: str = "all") -> np.ndarray:
        """AP of each category (mean precision over thresholds and recall points), NaN if no GT."""
        p = self.area_precision([name for name, _, _ in AREA_RANGES].index(area))
        defined = (p > -1).all(axis=(0, 1))
        return np.where(defined, p.mean(axis=(0, 1)), np.nan)


@dataclass
class LVISPooledResult:
    """AP-pool (Dave et al. 2021) of one IoU type: precision pooled over groups of categories.

    Attributes:
        iou_type: the IoU type.
        metrics: AP, AP50, AP75 (pool of all categories) and APr, APc, APf (pools of the
            rare / common / frequent categories), area range "all", as fractions; -1 where a
            pool has no (non-ignored) ground truth.
        precision: (T, R, 4) precision at IoU threshold t and recall point r of the pools
            ``POOLS`` ("all", "r", "c", "f"); -1 where undefined.
        recall: (T, 4) final recall of each pool, -1 likewise.
    """

    iou_type: str
    metrics: Dict[str, float]
    precision: np.ndarray
    recall: np.ndarray


POOLS = ("all",) + FREQUENCY_GROUPS


@dataclass
class Matching:
    """Outcome of matching one IoU type, per detection: all that ranking and accumulation need.

    Small enough to gather across processes (``lvis_protocols``): the results of disjoint
    image sets concatenate into those of their union. Detections are in group order:
    category, image, then decreasing score, then file order (``LVISEval.accumulate`` relies
    on it to rank each category's detections with a two-key sort).
    """

    cat: np.ndarray  # (N,) category index (sorted category ids)
    img: np.ndarray  # (N,) image index (sorted image ids)
    score: np.ndarray  # (N,) score
    index: np.ndarray  # (N,) position in the results list (file order, for ties)
    tp: np.ndarray  # (T, A, N) true positives
    counted: np.ndarray  # (T, A, N) not ignored (true or false positive)
    # (N,) rank of -score among these detections, equal scores equal rank (None: not computed;
    # a gathered matching has none, its parts' ranks are not comparable).
    score_rank: Optional[np.ndarray] = None

    @staticmethod
    def concatenate(parts: Sequence["Matching"]) -> "Matching":
        """The matching of the union of disjoint image sets, in group order: each part is in
        group order and an (image, category) group lies in one part, so a stable sort by
        (category, image) restores it."""
        if len(parts) == 1:
            return parts[0]
        fields = [np.concatenate([getattr(p, f) for p in parts], axis=-1)
                  for f in ("cat", "img", "score", "index", "tp", "counted")]  # score_rank: None
        order = np.lexsort((fields[1], fields[0]))
        return Matching(*(f[..., order] for f in fields))


def _unique_key_order(major: np.ndarray, minor: np.ndarray, num_minor: int) -> Optional[np.ndarray]:
    """``lexsort((minor, major))`` for distinct (major, minor) pairs with 0 <= minor <
    num_minor, as one sort of the integer keys ``major * num_minor + minor``: the keys are
    distinct, so any sort gives that order, and numpy's default sort of int64 is several
    times faster than a stable one. None if the keys could overflow int64."""
    if len(major) and (int(major.max()) + 1) * num_minor >= 2**62:
        return None
    return np.argsort(major * num_minor + minor)


def _group_score_order(group: np.ndarray, by_score: np.ndarray, score: np.ndarray
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """The matching's order, group then decreasing score then ``by_score``'s tie order
    (``by_score``: the detections by decreasing score, ties in file order), and each
    detection's rank of -score with equal scores sharing a rank."""
    n = len(score)
    strict = np.empty(n, dtype=np.int64)
    strict[by_score] = np.arange(n)
    order = _unique_key_order(group, strict, n)
    if order is None:
        order = np.lexsort((strict, group))
    ranked = score[by_score]
    shared = np.empty(n, dtype=np.int64)
    shared[by_score] = np.cumsum(np.r_[False, ranked[1:] != ranked[:-1]])
    return order, shared


def _rank_within_categories(m: Matching) -> np.ndarray:
    """Permutation ranking each category's detections by score over all images, ties in the
    matching's (image, file) order: ``lexsort((-m.score, m.cat))``, from the shared score ranks
    when the matching has them."""
    n = len(m.cat)
    if m.score_rank is not None and n:
        num_ranks = int(m.score_rank.max()) + 1
        if (int(m.cat.max()) + 1) * num_ranks < 2**62 // n:
            order = _unique_key_order(m.cat * num_ranks + m.score_rank, np.arange(n), n)
            if order is not None:
                return order
    return np.lexsort((-m.score, m.cat))


class LVISEval:
    """LVIS evaluation of a results list against LVIS-format ground truth.

    Example::

        ev = LVISEval("lvis_v1_val.json", "lvis_instances_results.json")
        print(ev.evaluate("bbox").metrics["AP"])

        # AP-fixed and AP-pool (Dave et al. 2021): 10,000 detections per class, no per-image cap
        ev = LVISEval(gt, results, max_dets=-1, dets_per_class=10000)
        ev.evaluate("segm").metrics["APr"], ev.evaluate_pooled("segm").metrics["APr"]

    Args:
        gt: LVIS-format ground truth, a dict or the path of its JSON file.
        results: detections, a list of {"image_id", "category_id", "score", "bbox" and/or
            "segmentation"}, the path of such a JSON file, or its ``ResultColumns`` (read
            once, evaluated for several IoU types). It is not modified.
        max_dets: detections kept per image (LVIS: 300); negative keeps all.
        areas_from_masks: ignore the results' boxes, as if they had only masks: areas (for
            the area filter and ranges) and, for bbox evaluation, boxes come from the masks.
            detectron2 evaluates segm this way (lvis-api would use box areas when the results
            carry boxes); same numbers as passing copies of the results without "bbox".
        dets_per_class: AP-fixed's budget, the top-scoring detections kept per category over
            the whole set before the per-image cap (ties in file order); negative keeps all.
        boundary_dilation_ratio: boundary width as a fraction of the image diagonal, for the
            IoU type "boundary" (Cheng et al. 2021; 0.02 in the paper and the LVIS challenge).
        allow_empty: accept results without detections (a process's share of a distributed
            evaluation may have none); otherwise that is a ValueError.
    """

    def __init__(
        self,
        gt: Union[str, dict],
        results: Union[str, Sequence[dict], ResultColumns],
        max_dets: int = 300,
        areas_from_masks: bool = False,
        dets_per_class: int = -1,
        boundary_dilation_ratio: float = 0.02,
        allow_empty: bool = False,
    ):
        if not boundary_dilation_ratio > 0:
            raise ValueError(f"boundary_dilation_ratio must be > 0, got {boundary_dilation_ratio}")
        self.boundary_dilation_ratio = float(boundary_dilation_ratio)
        # A _GroundTruth is reused as is (several evaluations of one set share its masks).
        self.gt = gt if isinstance(gt, _GroundTruth) else _GroundTruth(_load_json(gt, "Ground truth"))
        self.dets = _Detections(_result_columns(results), self.gt, max_dets, areas_from_masks,
                                dets_per_class=dets_per_class, keep_categories_without_gt=True,
                                allow_empty=allow_empty)
        self.max_dets = max_dets
        self.dets_per_class = dets_per_class
        self._matchings: Dict[str, Matching] = {}

    def match(self, iou_type: str) -> Matching:
        """Greedy matching of every detection for ``iou_type`` (computed once per type)."""
        if iou_type not in IOU_TYPES:
            raise ValueError(f"iou_type {iou_type!r} is not one of {IOU_TYPES}")
        if iou_type in self._matchings:
            return self._matchings[iou_type]
        gt, dt = self.gt, self.dets
        num_imgs = len(gt.img_ids)

        # Groups (category, image), category-major as lvis-api accumulates them.
        gt_group = gt.cat * num_imgs + gt.img
        gt_order = np.argsort(gt_group, kind="stable")  # within a group: file order
        dt_group = dt.cat * num_imgs + dt.img
        # Score, then file order; detections are kept in file order (index increasing), so a
        # stable two-key sort leaves ties in it.
        in_file_order = bool(np.all(dt.index[1:] > dt.index[:-1]))
        num_dt = len(dt.score)
        by_score = np.argsort(-dt.score, kind="stable") if in_file_order else np.lexsort((dt.index, -dt.score))
        dt_order, score_rank = _group_score_order(dt_group, by_score, dt.score)
        g_sorted, d_sorted = gt_group[gt_order], dt_group[dt_order]
        dt_rank = np.arange(num_dt) - np.searchsorted(d_sorted, d_sorted, side="left")

        # Every (detection, ground truth) pair of one group.
        lo = np.searchsorted(g_sorted, d_sorted, side="left")
        count = np.searchsorted(g_sorted, d_sorted, side="right") - lo
        pair_dt = np.repeat(np.arange(num_dt), count)
        pair_start = np.cumsum(count) - count
        pair_gt = lo[pair_dt] + (np.arange(len(pair_dt)) - pair_start[pair_dt])
        if iou_type == "bbox":
            pair_iou = _box_iou_of_pairs(dt.boxes[dt_order], gt.boxes[gt_order], pair_dt, pair_gt)
        else:
            dt_rles, gt_rles = dt.rles(), gt.rles()
            dt_sorted, gt_sorted = _pick(dt_rles, dt_order), _pick(gt_rles, gt_order)
            # IoU <= min(a, b) / max(a, b) for masks of a and b pixels (intersection <= the
            # smaller, union >= the larger): a pair with 2 min < max (exact on integer areas)
            # is below 0.5, the lowest threshold, and is never matched, so pycocotools skips it.
            candidates = None
            if not dt.box_area and IOU_THRESHOLDS.min() == 0.5:
                a, b = dt.area[dt_order][pair_dt], gt.mask_area()[gt_order][pair_gt]
                candidates = 2 * np.minimum(a, b) >= np.maximum(a, b)
            pairs = (pair_dt, pair_gt, pair_start, lo)
            pair_iou = _segm_iou_pairs(dt_sorted, gt_sorted, d_sorted, g_sorted, *pairs, candidates)
            if iou_type == "boundary":
                # Boundary AP's IoU is min(mask IoU, boundary IoU); boundaries are computed
                # only for the masks that are in a pair whose mask IoU can reach 0.5.
                reach = pair_iou >= IOU_THRESHOLDS.min()
                dt_b = self._boundaries(dt_sorted, _sorted_unique(pair_dt[reach]))
                gt_b = self._boundaries(gt_sorted, _sorted_unique(pair_gt[reach]))
                np.minimum(pair_iou, _segm_iou_pairs(dt_b, gt_b, d_sorted, g_sorted, *pairs, reach), out=pair_iou)

        lower = np.array([lo_ for _, lo_, _ in AREA_RANGES])[:, None]
        upper = np.array([up for _, _, up in AREA_RANGES])[:, None]
        gt_area = gt.area[gt_order][None, :]
        gt_ignore = gt.ignore[gt_order][None, :] | (gt_area < lower) | (gt_area > upper)  # (A, G)
        matched, matched_ignored = greedy_match(pair_dt, pair_gt, pair_iou, dt_rank, gt_ignore)

        dt_area = dt.area[dt_order][None, :]
        unmatched_ignored = (dt_area < lower) | (dt_area > upper) | dt.not_exhaustive[dt_order][None, :]
        # ignored = matched ? matched_ignored : unmatched_ignored, (T, A, N), in place (a
        # detection matched to ignored ground truth is matched): fresh arrays of this size
        # are a large part of the matching's time.
        counted = matched_ignored
        unmatched_here = np.empty(unmatched_ignored.shape, dtype=bool)
        for t in range(len(matched)):  # one (A, N) temporary, reused
            counted[t] |= np.greater(unmatched_ignored, matched[t], out=unmatched_here)
        np.logical_not(counted, out=counted)
        tp = np.logical_and(matched, counted, out=matched)
        o = dt_order
        m = Matching(cat=dt.cat[o], img=dt.img[o], score=dt.score[o], index=dt.index[o],
                     tp=tp, counted=counted, score_rank=score_rank[o])
        self._matchings[iou_type] = m
        return m

    def num_gt(self) -> np.ndarray:
        """(A, K) non-ignored ground truth per area range and category."""
        gt = self.gt
        lower = np.array([lo_ for _, lo_, _ in AREA_RANGES])[:, None]
        upper = np.array([up for _, _, up in AREA_RANGES])[:, None]
        ignore = gt.ignore[None, :] | (gt.area[None, :] < lower) | (gt.area[None, :] > upper)
        return np.stack([np.bincount(gt.cat[~ig], minlength=len(gt.cat_ids)) for ig in ignore])

    def _boundaries(self, rles: List[dict], needed: np.ndarray) -> List[Optional[dict]]:
        """Boundary masks of ``rles[i]`` for i in ``needed`` (None elsewhere)."""
        from .boundary_iou import boundary_rles

        out: List[Optional[dict]] = [None] * len(rles)
        for i, b in zip(needed.tolist(), boundary_rles(_pick(rles, needed), self.boundary_dilation_ratio)):
            out[i] = b
        return out

    def evaluate(self, iou_type: str) -> LVISEvalResult:
        """Per-category LVIS AP of one IoU type ("bbox", "segm" or "boundary"), as lvis-api
        computes it (boundary: as boundary-iou-api's LVIS evaluation does)."""
        return self.accumulate(iou_type, self.match(iou_type))

    def accumulate(self, iou_type: str, m: Matching) -> LVISEvalResult:
        """Per-category precision, recall and summary of a matching (this one's or gathered)."""
        gt = self.gt
        num_cats = len(gt.cat_ids)
        num_gt = self.num_gt()
        # Rank each category's detections over all images: score, image id, file order. The
        # matching is in group order (category, image, score, file order), so a stable sort
        # by (category, score) leaves ties in (image, file) order.
        rank = _rank_within_categories(m)
        cat_ranked = m.cat[rank]
        num_thr = len(IOU_THRESHOLDS)
        areas = [name for name, _, _ in AREA_RANGES]
        all_a = areas.index("all")
        area_recall = np.empty((len(areas), num_thr, num_cats))

        def area_precision(a: int, out: Optional[np.ndarray] = None) -> np.ndarray:
            # take() keeps the (T, N) rows contiguous (m.tp[:, a, rank] does not).
            return accumulate(m.tp[:, a].take(rank, axis=1), m.counted[:, a].take(rank, axis=1), cat_ranked,
                              num_gt[a], num_cats, precision=out, recall=area_recall[a])[0]

        # One (T, R, K) block per area range, the same buffer for the three size ranges: the
        # summary reads each once; "all" is kept for per-class AP.
        blocks: Dict[int, np.ndarray] = {}
        scratch = None
        metrics: Dict[str, float] = {}
        for a in range(len(areas)):
            p = area_precision(a, out=None if a == all_a else scratch)
            if a == all_a:
                blocks[a] = p
            else:
                scratch = p
            metrics.update(self._summarize_area(areas[a], p))
        recall = area_recall.transpose(1, 2, 0).copy()  # later recomputations rewrite area_recall
        metrics = {k: metrics[k] for k in ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf")}
        metrics[f"AR@{self.max_dets}"] = _mean_defined(recall[..., all_a])
        for name in ("small", "medium", "large"):
            metrics[f"AR{name[0]}@{self.max_dets}"] = _mean_defined(recall[..., areas.index(name)])
        return LVISEvalResult(
            iou_type=iou_type, metrics=metrics, recall=recall,
            cat_ids=gt.cat_ids.copy(), names=list(gt.names), frequency=list(gt.frequency),
            image_count=gt.image_count.copy(),
            area_precision=lambda a: blocks[a] if a in blocks else area_precision(a),
        )

    def evaluate_pooled(self, iou_type: str) -> LVISPooledResult:
        """AP-pool (Dave et al. 2021): precision and recall of the detections of a whole pool
        of categories ranked together, so a detector whose scores are not comparable across
        categories (uncalibrated) loses AP.

        Matching is per category, as in ``evaluate``. Then for each pool (all categories, and
        the r / c / f groups) its detections of every image are ranked by score (ties: image
        id, category id, file order), true and false positives are counted over the pool
        against all its non-ignored ground truth, and precision is read at the 101 recall
        points as in ``evaluate`` (area range "all"). Detections of categories without
        ground truth count as false positives of their pool.
        """
        return self.accumulate_pooled(iou_type, self.match(iou_type))

    def accumulate_pooled(self, iou_type: str, m: Matching) -> LVISPooledResult:
        """AP-pool of a matching (this one's or gathered)."""
        gt = self.gt
        a = [name for name, _, _ in AREA_RANGES].index("all")
        num_gt_all = self.num_gt()[a]
        freq = np.array([FREQUENCY_GROUPS.index(f) for f in gt.frequency], dtype=np.int64)
        num_thr, num_rec = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
        precision = np.empty((num_thr, num_rec, len(POOLS)))
        recall = np.empty((num_thr, len(POOLS)))
        num_gt_group = np.bincount(freq, weights=num_gt_all, minlength=len(FREQUENCY_GROUPS)).astype(np.int64)
        # The pool of all categories, then the three frequency pools at once (one segment each).
        for pools, pool_of, num_gt in (
            (slice(0, 1), np.zeros(len(m.cat), dtype=np.int64), np.array([num_gt_all.sum()])),
            (slice(1, 4), freq[m.cat], num_gt_group),
        ):
            rank = np.lexsort((m.index, m.cat, m.img, -m.score, pool_of))
            p, r = accumulate(m.tp[:, a].take(rank, axis=1), m.counted[:, a].take(rank, axis=1),
                              pool_of[rank], num_gt, len(num_gt))
            precision[:, :, pools], recall[:, pools] = p, r
        t50 = np.flatnonzero(IOU_THRESHOLDS == 0.5)
        t75 = np.flatnonzero(IOU_THRESHOLDS == 0.75)
        metrics = {
            "AP": _mean_defined(precision[:, :, 0]),
            "AP50": _mean_defined(precision[t50, :, 0]),
            "AP75": _mean_defined(precision[t75, :, 0]),
        }
        for k, g in enumerate(FREQUENCY_GROUPS, start=1):
            metrics[f"AP{g}"] = _mean_defined(precision[:, :, k])
        return LVISPooledResult(iou_type=iou_type, metrics=metrics, precision=precision, recall=recall)

    def _summarize_area(self, area: str, precision: np.ndarray) -> Dict[str, float]:
        """lvis-api's precision metrics that read area range ``area`` (fractions, -1 where
        undefined), from its (T, R, K) block."""
        if area != "all":
            return {f"AP{area[0]}": _mean_defined(precision)}
        t50 = np.flatnonzero(IOU_THRESHOLDS == 0.5)
        t75 = np.flatnonzero(IOU_THRESHOLDS == 0.75)
        m = {"AP": _mean_defined(precision), "AP50": _mean_defined(precision[t50]),
             "AP75": _mean_defined(precision[t75])}
        for g in FREQUENCY_GROUPS:
            idx = np.array([k for k, f in enumerate(self.gt.frequency) if f == g], dtype=np.int64)
            m[f"AP{g}"] = _mean_defined(precision[:, :, idx])
        return m


def evaluate_lvis(
    gt: Union[str, dict], results: Union[str, Sequence[dict]], iou_types: Sequence[str] = ("bbox",),
    max_dets: int = 300,
) -> Dict[str, LVISEvalResult]:
    """Evaluate ``results`` for each IoU type; returns {iou_type: LVISEvalResult}."""
    ev = LVISEval(gt, results, max_dets=max_dets)
    return {t: ev.evaluate(t) for t in iou_types}
