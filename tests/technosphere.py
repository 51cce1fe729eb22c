"""An independent footprint of every product: the product system as a technosphere matrix,
solved with scipy (Heijungs & Suh: the inventory of a demand f is B inv(A) f).

A (n x n) holds each product's output on the diagonal and, negative, what it used of each other
product; B (keys x n) holds each product's own burdens (its share of every allocation group).
The footprint per unit of every product at once is X = inv(A).T B.T (n x keys), one sparse LU solve.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import linalg

from batterytrace.carbon.system import System


def matrices(system: System) -> tuple[sparse.csc_array, np.ndarray]:
    n = len(system.nodes)
    rows, cols, data = [], [], []
    burdens = []
    for j, node in enumerate(system.nodes):
        rows.append(j)
        cols.append(j)
        data.append(node.output)
        for i, amount in node.inputs.items():
            rows.append(i)
            cols.append(j)
            data.append(-amount)
        for g, share in node.own.items():
            burdens.extend(
                (system.key(b.key), j, b.amount * share) for b in system.groups[g].burdens
            )
    technosphere = sparse.csc_array((data, (rows, cols)), shape=(n, n))
    interventions = np.zeros((len(system.keys), n))
    for k, j, amount in burdens:
        interventions[k, j] += amount
    return technosphere, interventions


def solve(system: System) -> np.ndarray:
    """Per-unit amounts of every burden key for every product (n x keys)."""
    technosphere, interventions = matrices(system)
    solved = linalg.spsolve(technosphere.T.tocsc(), interventions.T)
    return np.asarray(solved).reshape(len(system.nodes), -1)
