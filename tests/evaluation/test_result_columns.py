"""lt_det.evaluation.lvis_eval.ResultColumns.read: a results file read by its typed
decoders gives exactly the columns of the same list given as Python dicts
(``ResultColumns.from_records``), and the same one-line errors, whichever decoder reads it:
box-only files (every record image_id, category_id, score, a 4-number bbox and no
segmentation), files with masks, and files either decoder rejects (read as plain JSON)."""
import json

import numpy as np
import pytest

from lt_det.evaluation import lvis_eval
from lt_det.evaluation.lvis_eval import ResultColumns

RLE = {"size": [4, 5], "counts": "04L4"}


def _write(tmp_path, obj, text=None):
    path = tmp_path / "results.json"
    path.write_text(text if text is not None else json.dumps(obj))
    return str(path)


def _same(a: ResultColumns, b: ResultColumns):
    for name in ("image_id", "category_id", "score", "bbox"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and x.shape == y.shape, name
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.segmentation == b.segmentation


BOXES = [
    {"image_id": 3, "category_id": 7, "bbox": [1.5, 2, 3.25, 4e-1], "score": 0.9},
    {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 1},  # int score
    {"image_id": 3, "category_id": 7, "bbox": [0.1, 0.2, 0.30000000000000004, 5e2], "score": 0.123456789012345678},
]


@pytest.mark.parametrize(
    "records",
    [
        BOXES,  # box-only: the box decoder
        [dict(r, id=i + 1) for i, r in enumerate(BOXES)],  # an extra key: still box-only
        [dict(r, segmentation=RLE) for r in BOXES],  # boxes and masks: the general decoder
        [{k: v for k, v in r.items() if k != "bbox"} | {"segmentation": RLE} for r in BOXES],  # mask-only
        [dict(BOXES[0], segmentation=None), BOXES[1]],  # a null segmentation
        [dict(BOXES[0], image_id=3.0), BOXES[1]],  # an integral float id: plain JSON, id 3
        [],
    ],
)
def test_file_columns_equal_list_columns(tmp_path, records):
    _same(ResultColumns.read(_write(tmp_path, records)), ResultColumns.from_records(records))


def test_box_values_are_the_files_decimals(tmp_path):
    # The decoded doubles are Python's float() of each decimal in the file.
    cols = ResultColumns.read(_write(tmp_path, BOXES))
    assert cols.bbox.tolist()[0] == [1.5, 2.0, 3.25, 0.4]
    assert cols.score.tolist() == [0.9, 1.0, 0.123456789012345678]
    assert cols.image_id.tolist() == [3, 1, 3] and cols.segmentation is None


@pytest.mark.parametrize(
    "records, message",
    [
        ([BOXES[0], {k: v for k, v in BOXES[1].items() if k != "bbox"}], "Result 1 has no 'bbox' but result 0"),
        ([BOXES[0], dict(BOXES[1], bbox=[0, 0, 5])], "bbox"),
        ([BOXES[0], {k: v for k, v in BOXES[1].items() if k != "score"}], "has no 'score'"),
        ([BOXES[0], dict(BOXES[1], category_id="two")], "non-numeric 'category_id'"),
    ],
)
def test_bad_files_raise_as_lists_do(tmp_path, records, message):
    with pytest.raises(ValueError, match=message):
        ResultColumns.from_records(records)
    with pytest.raises(ValueError, match=message):
        ResultColumns.read(_write(tmp_path, records))


def test_nan_literal_is_read_as_plain_json(tmp_path):
    # msgspec rejects NaN literals; stdlib json reads them: score NaN reaches the columns
    # (LVISEval then names the result).
    text = json.dumps([dict(BOXES[0], score=float("nan"))])
    assert "NaN" in text
    assert np.isnan(ResultColumns.read(_write(tmp_path, None, text)).score[0])


def _many(n=200):
    rng = np.random.default_rng(0)
    return [{"image_id": int(rng.integers(1, 9)), "category_id": int(rng.integers(1, 30)),
             "bbox": [round(float(v), int(rng.integers(0, 17))) for v in rng.random(4) * 100],
             "score": float(rng.random())} for _ in range(n)]


@pytest.mark.parametrize("chunk", [16, 64, 1000, 1 << 20])  # 16: every record outgrows the buffer
@pytest.mark.parametrize("indent", [None, 2])
def test_box_file_read_in_pieces_equals_the_list(tmp_path, monkeypatch, chunk, indent):
    # A box-only file is decoded a buffer at a time, cut after the last "}," in the buffer;
    # whatever the cuts (buffer size, pretty-printed or not, spaces around the array), the
    # columns are the list's.
    monkeypatch.setattr(lvis_eval, "_BOX_CHUNK", chunk)
    records = _many()
    text = "\n  " + json.dumps(records, indent=indent) + " \n"
    _same(ResultColumns.read(_write(tmp_path, None, text)), ResultColumns.from_records(records))


def test_cut_inside_a_string_falls_back_to_the_whole_file(tmp_path, monkeypatch):
    # Every record carries an extra string holding "}," so some cuts land inside a string;
    # that piece fails to decode and the file is decoded whole: same columns.
    monkeypatch.setattr(lvis_eval, "_BOX_CHUNK", 64)
    records = [dict(r, note="x},{\"y\": 1},") for r in _many(50)]
    _same(ResultColumns.read(_write(tmp_path, records)), ResultColumns.from_records(records))


@pytest.mark.parametrize("chunk", [64, 1 << 20])
@pytest.mark.parametrize("text", [
    json.dumps(BOXES)[:-1] + ", ]",  # a trailing comma: not JSON
    json.dumps(BOXES) + " x",  # something after the array
    json.dumps(BOXES)[:-1],  # the array never closes
])
def test_malformed_box_files_fail_as_whole_files_do(tmp_path, monkeypatch, chunk, text):
    # With small pieces the last piece alone may be "[ ]" or well-formed; the reader must not
    # accept what the whole-file decoders reject.
    monkeypatch.setattr(lvis_eval, "_BOX_CHUNK", chunk)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises((ValueError, json.JSONDecodeError)):
        ResultColumns.read(_write(tmp_path, None, text))


def test_mask_file_with_small_pieces_reads_as_list(tmp_path, monkeypatch):
    monkeypatch.setattr(lvis_eval, "_BOX_CHUNK", 64)
    records = [dict(r, segmentation=RLE) for r in _many(30)]
    _same(ResultColumns.read(_write(tmp_path, records)), ResultColumns.from_records(records))


def test_trailing_comma_split_from_its_array_is_not_accepted(tmp_path, monkeypatch):
    # A buffer one byte short of the file ends inside ", ]": the cut after the last "},"
    # leaves a last piece "[" + " ]", which decodes alone as an empty list. That must not
    # pass for the end of a valid array.
    text = json.dumps(BOXES)[:-1] + ", ]"
    monkeypatch.setattr(lvis_eval, "_BOX_CHUNK", len(text) - 1)
    with pytest.raises(json.JSONDecodeError):
        ResultColumns.read(_write(tmp_path, None, text))


@pytest.mark.parametrize("segmentation, known", [
    (RLE, True),  # compressed RLE: the mask decoder checked its form
    ({"size": [4, 5], "counts": [0, 20]}, False),  # uncompressed RLE: the general decoder
    ([[0, 0, 4, 0, 4, 3]], False),  # a polygon: likewise
    ({"size": [4, 5, 1], "counts": "04L4"}, False),  # not an RLE's size: not vouched for
])
def test_mask_files_say_whether_every_mask_is_compressed_rle(tmp_path, segmentation, known):
    records = [{k: v for k, v in r.items() if k != "bbox"} | {"segmentation": segmentation} for r in BOXES]
    cols = ResultColumns.read(_write(tmp_path, records))
    assert cols.compressed_rles is known
    _same(cols, ResultColumns.from_records(records))
    assert cols.subset(np.array([0, 2])).compressed_rles is known
