"""Builders of small hand-made LVIS-format cases (imported by the evaluation tests)."""


def make_gt(images, annotations, categories):
    """An LVIS-format dict; images are (id, neg_ids, not_exhaustive_ids) with size 100x100,
    annotations (id, image_id, category_id, [x, y, w, h]) with area w*h and a box polygon,
    categories (id, frequency, image_count)."""
    return {
        "images": [
            {"id": i, "height": 100, "width": 100, "neg_category_ids": list(neg),
             "not_exhaustive_category_ids": list(nel)}
            for i, neg, nel in images
        ],
        "annotations": [
            {"id": a, "image_id": i, "category_id": c, "bbox": list(map(float, box)),
             "area": float(box[2] * box[3]),
             "segmentation": [[box[0], box[1], box[0] + box[2], box[1], box[0] + box[2],
                               box[1] + box[3], box[0], box[1] + box[3]]]}
            for a, i, c, box in annotations
        ],
        "categories": [
            {"id": c, "name": f"cat{c}", "frequency": f, "image_count": n} for c, f, n in categories
        ],
    }


def det(image_id, category_id, box, score):
    return {"image_id": image_id, "category_id": category_id, "bbox": list(map(float, box)), "score": score}
