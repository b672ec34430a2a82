#!/usr/bin/env python3
"""scikit-learn side of bench/gbdt.ts (issue 4).

Writes make_classification(n_samples=1_000_000, n_features=28, n_informative=20, n_redundant=4,
flip_y=0.05, class_sep=0.8, random_state=0) to bench/out/make_classification_1m.f64 (row-major
little-endian float64, 1_000_000 x 28) and .labels.i32 (little-endian int32), so that
`npx tsx bench/gbdt.ts` trains on exactly the same rows; then times
HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, max_bins=255,
early_stopping=False) on the first 800,000 rows with 1 and 2 threads and prints fit seconds,
AUC on the last 200,000 and prediction rows/s, like the TypeScript side.

    python3 bench/gbdt_sklearn.py [--threads 1,2] [--no-write]
"""

import argparse
import os
import resource
import sys
import time

try:
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.exit(f"bench/gbdt_sklearn.py needs numpy and scikit-learn ({err}); pip install scikit-learn")

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # threadpoolctl ships with scikit-learn, but be explicit when it is absent
    threadpool_limits = None

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "out", "make_classification_1m")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-write", action="store_true", help="do not write the dataset files")
    args = parser.parse_args()

    t0 = time.perf_counter()
    X, y = make_classification(
        n_samples=1_000_000,
        n_features=28,
        n_informative=20,
        n_redundant=4,
        flip_y=0.05,
        class_sep=0.8,
        random_state=0,
    )
    print(f"data: make_classification(random_state=0) in {time.perf_counter() - t0:.1f} s")
    if not args.no_write:
        os.makedirs(os.path.dirname(BASE), exist_ok=True)
        np.ascontiguousarray(X, dtype="<f8").tofile(BASE + ".f64")
        np.ascontiguousarray(y, dtype="<i4").tofile(BASE + ".labels.i32")
        print(f"wrote {BASE}.f64 and .labels.i32")
    X_train, y_train = X[:800_000], y[:800_000]
    X_test, y_test = X[800_000:], y[800_000:]
    print(f"train {X_train.shape[0]} x {X_train.shape[1]}: raw float64 {X_train.nbytes / 2**20:.0f} MiB")

    for threads in [int(t) for t in args.threads.split(",")]:
        if threadpool_limits is None:
            os.environ["OMP_NUM_THREADS"] = str(threads)
            print("threadpoolctl missing: OMP_NUM_THREADS set, which only holds if set before start-up")
            ctx = None
        else:
            ctx = threadpool_limits(limits=threads, user_api="openmp")
        try:
            clf = HistGradientBoostingClassifier(
                max_iter=100, max_leaf_nodes=31, max_bins=255, early_stopping=False, random_state=0
            )
            t = time.perf_counter()
            clf.fit(X_train, y_train)
            fit_s = time.perf_counter() - t
            t = time.perf_counter()
            p = clf.predict_proba(X_test)[:, 1]
            pred_s = time.perf_counter() - t
            auc = roc_auc_score(y_test, p)
            print(
                f"threads {threads}: fit {fit_s:.2f} s, AUC {auc:.4f}, "
                f"predict {X_test.shape[0] / pred_s / 1e6:.2f} M rows/s ({threads} thread(s))"
            )
        finally:
            if ctx is not None:
                ctx.unregister()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak RSS {peak / 2**20:.0f} MiB = {peak / X_train.nbytes:.2f}x the raw training floats")


if __name__ == "__main__":
    main()
