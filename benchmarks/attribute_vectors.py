"""What the smile vectors do to decoded faces (figures in docs/attribute-vectors.md).

    python benchmarks/attribute_vectors.py [--model SPEC] [--faces 500]

Vectors are computed from the mu of all 20,000 training faces. Held-out faces are moved along
each by c = -2 .. +2 standard deviations, decoded, and judged on their pixels by classifiers
trained on the generator's images (explorer/core/judges.py).
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.core.data import load_faces
from explorer.core.space import vectors as V
from explorer.core.space.judges import PixelJudge, sweep
from explorer_models import load_model
from explorer_models.evaluation import iter_terms

STEPS = (-2, -1, 0, 1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="builtin:faces")
    ap.add_argument("--faces", type=int, default=500)
    args = ap.parse_args()
    model = load_model(args.model)
    train, test = load_faces("train"), load_faces("test")
    mu = np.concatenate([t["mu"] for t in iter_terms(model, train.images)])
    held = np.concatenate([t["mu"] for t in iter_terms(model, test.images[: args.faces])])
    judges = [PixelJudge.fit(train, name, heldout=test) for name in ("smiling", "glasses")]
    print("pixel judges, accuracy on held-out faces:", ", ".join(f"{j.label} {j.accuracy:.3f}" for j in judges))
    smile, glasses = train.label("smiling"), train.label("glasses")
    vectors = [
        V.mean_difference(mu, smile, "smiling"),
        V.balanced_mean_difference(mu, smile, "smiling", {"glasses": glasses}),
        V.logistic_direction(mu, smile, "smiling"),
    ]
    print(f"\n{args.faces} held-out faces moved along each vector by c standard deviations:")
    print(f"{'vector':<36} {'quality':<32} " + "  ".join(f"c={c:+d}" for c in STEPS))
    for v in vectors:
        r = sweep(model, held, v, STEPS, judges)
        print(f"{v.name:<36} {v.describe():<32} " + "  ".join(f"{x:5.1%}" for x in r["smiling"]) + "   smiling")
        print(
            f"{'':<36} {'':<32} " + "  ".join(f"{x:5.2f}" for x in r["glasses p"]) + "   glasses p"
            f"   (change {r['glasses p'][-1] - r['glasses p'][0]:+.3f})"
        )


if __name__ == "__main__":
    main()
