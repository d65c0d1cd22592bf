"""Baselines of bench/quality, with scikit-learn (Debian's python3-sklearn, for
Debian's /usr/bin/python3). Prints a JSON list of {Name, AUROC, Seconds, ...}.

  baselines.py oneclass DIR   DIR/ml/input/data/{training,test}/{raw,desc}.npy, DIR/task.json
  baselines.py ageband DIR    DIR/task.json names the channels (raw.npy each)

Untuned, scikit-learn's usual settings: OneClassSVM(nu=0.1, gamma='scale'),
IsolationForest(200 trees, seed 0), PCA keeping 90 % of the variance
(reconstruction error), 5-NN mean Euclidean distance. Wall times are
fit + score, single process.
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM


def knn_score(train, test, k=5, loo=False):
    nn = NearestNeighbors(n_neighbors=k + (1 if loo else 0)).fit(train)
    d, _ = nn.kneighbors(test)
    return (d[:, 1:] if loo else d).mean(axis=1)


def hog(raw, cells=4, bins=9):
    """HOG of 28x28 images: unsigned gradients, 9 bins, 4x4 cells of 7 px,
    each cell L2-normalised (144 values)."""
    x = raw.reshape(-1, 28, 28).astype(np.float64)
    gx = np.zeros_like(x)
    gy = np.zeros_like(x)
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    gy[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    b = np.minimum((ang / np.pi * bins).astype(int), bins - 1)
    c = 28 // cells
    out = np.zeros((x.shape[0], cells, cells, bins))
    for i in range(cells):
        for j in range(cells):
            mb = b[:, i * c:(i + 1) * c, j * c:(j + 1) * c].reshape(len(x), -1)
            mm = mag[:, i * c:(i + 1) * c, j * c:(j + 1) * c].reshape(len(x), -1)
            for k in range(bins):
                out[:, i, j, k] = (mm * (mb == k)).sum(axis=1)
    out /= np.sqrt((out ** 2).sum(axis=3, keepdims=True)) + 1e-6
    return out.reshape(len(x), -1)


def oneclass(d):
    ch = os.path.join(d, "ml", "input", "data")
    task = json.load(open(os.path.join(d, "task.json")))
    y = np.array(task["anomalous"], dtype=int)
    rtr = np.load(os.path.join(ch, "training", "raw.npy"))
    rte = np.load(os.path.join(ch, "test", "raw.npy"))
    dtr = np.load(os.path.join(ch, "training", "desc.npy"))
    dte = np.load(os.path.join(ch, "test", "desc.npy"))
    out = []

    def run(name, f):
        t0 = time.perf_counter()
        s = f()
        out.append({"Name": name, "AUROC": float(roc_auc_score(y, s)), "Seconds": time.perf_counter() - t0})

    run("one-class SVM, raw pixels", lambda: -OneClassSVM(nu=0.1, gamma="scale").fit(rtr).decision_function(rte))
    run("isolation forest, raw pixels", lambda: -IsolationForest(n_estimators=200, random_state=0).fit(rtr).score_samples(rte))

    def pca():
        p = PCA(n_components=0.9, random_state=0).fit(rtr)
        r = p.inverse_transform(p.transform(rte))
        return ((rte - r) ** 2).sum(axis=1)

    run("PCA reconstruction, raw pixels", pca)
    run("5-NN, raw pixels", lambda: knn_score(rtr, rte))

    def desc_knn():
        mu, sd = dtr.mean(axis=0), dtr.std(axis=0)
        sd[sd < 1e-6] = 1
        return knn_score((dtr - mu) / sd, (dte - mu) / sd)

    run("5-NN, our descriptor (standardised)", desc_knn)
    return out


def ageband(d):
    task = json.load(open(os.path.join(d, "task.json")))
    y = np.array(task["anomalous"], dtype=int)
    kinds = np.array(task["kinds"])
    ages = np.floor(np.array(task["ages"]))
    trages = np.floor(np.array(task["train_ages"]))
    rtr = np.load(os.path.join(task["train"], "raw.npy"))
    rte = np.load(os.path.join(task["test"], "raw.npy"))
    out = []
    for name, f in (("per-age 5-NN, raw pixels", lambda r: r), ("per-age 5-NN, HOG", hog)):
        t0 = time.perf_counter()
        ftr, fte = f(rtr), f(rte)
        score = np.zeros(len(y))
        for a in np.unique(trages):
            tr = ftr[trages == a]
            thr = np.quantile(knn_score(tr, tr, loo=True), 0.95)  # calibrated on its own leave-one-out distances
            m = ages == a
            score[m] = knn_score(tr, fte[m]) / thr
        secs = time.perf_counter() - t0
        normal = y == 0

        def auc(keep):
            return float(roc_auc_score(y[keep], score[keep]))

        out.append({"Name": name, "AUROC": auc(np.ones(len(y), bool)), "Seconds": secs,
                    "WrongAge": auc(kinds != "other-class"), "OtherClass": auc(kinds != "wrong-age"),
                    "FPR": float((score[normal] > 1).mean())})
    return out


if __name__ == "__main__":
    print(json.dumps({"oneclass": oneclass, "ageband": ageband}[sys.argv[1]](sys.argv[2])))
