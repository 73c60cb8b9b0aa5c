#!/usr/bin/env python
"""Write an LT-Shapes data set (images + LVIS-format JSON) to a folder.

    tools/generate_lt_shapes.py OUT_DIR [--num-train 800 --num-val 200 --num-classes 40 ...]

Training does not need this: the registered sets ``lt_shapes_{train,val}`` are generated on
first use into ``$LT_DET_CACHE``. Use it to look at the data or to change its shape.
"""
import argparse
import dataclasses
import os
import sys

from lt_det.data.datasets.lt_shapes import LTShapesSpec, generate_lt_shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    for field in dataclasses.fields(LTShapesSpec):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    try:
        spec = LTShapesSpec(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LTShapesSpec)})
    except ValueError as e:
        parser.error(str(e))
    if os.path.exists(os.path.join(args.out_dir, "lvis_v1_train.json")):
        parser.error(f"{args.out_dir} already holds an LT-Shapes set; choose an empty folder")
    os.makedirs(args.out_dir, exist_ok=True)
    generate_lt_shapes(spec, args.out_dir)
    print(f"wrote {spec.num_train} train and {spec.num_val} val images with "
          f"lvis_v1_train.json / lvis_v1_val.json to {args.out_dir}")


if __name__ == "__main__":
    sys.exit(main())
