"""An independent footprint of every product: the product system as a technosphere matrix,
solved with scipy (Heijungs & Suh: the inventory of a demand f is B inv(A) f).

A (n x n) holds each product's output on the diagonal and, negative, what it used of each other
product; B (keys x n) holds each product's own burdens (its share of every allocation group).
The footprint per unit of every product at once is X = inv(A).T B.T (n x keys), one sparse LU solve.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse import linalg

from batterytrace.carbon.system import System


def _flat(
    rows: Sequence[Collection[tuple[int, float]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) arrays of every (column, value) pair of ``rows[j]`` (row j)."""
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    total = int(counts.sum())
    cols = np.fromiter((c for r in rows for c, _ in r), dtype=np.int64, count=total)
    data = np.fromiter((v for r in rows for _, v in r), dtype=float, count=total)
    return np.repeat(np.arange(len(rows)), counts), cols, data


def matrices(system: System) -> tuple[sparse.csc_array, np.ndarray]:
    """A and B from flat arrays (scipy sums the duplicate entries of a COO matrix)."""
    n = len(system.nodes)
    output = np.fromiter((node.output for node in system.nodes), dtype=float, count=n)
    used_by, used, amount = _flat([node.inputs.items() for node in system.nodes])
    diagonal = np.arange(n)
    technosphere = sparse.coo_array(
        (np.concatenate((output, -amount)),
         (np.concatenate((diagonal, used)), np.concatenate((diagonal, used_by)))),
        shape=(n, n),
    ).tocsc()  # fmt: skip
    group_of, key, kg = _flat(
        [[(system.key(b.key), b.amount) for b in group.burdens] for group in system.groups]
    )
    grouped = sparse.coo_array((kg, (group_of, key)), shape=(len(system.groups), len(system.keys)))
    node, group, share = _flat([node.own.items() for node in system.nodes])
    shares = sparse.coo_array((share, (node, group)), shape=(n, len(system.groups)))
    interventions = (shares.tocsr() @ grouped.tocsc()).toarray().T
    return technosphere, interventions


def solve(system: System) -> np.ndarray:
    """Per-unit amounts of every burden key for every product (n x keys)."""
    return lu_solve(*matrices(system))


def lu_solve(technosphere: sparse.csc_array, interventions: np.ndarray) -> np.ndarray:
    """X = inv(A).T B.T: one sparse LU solve of A.T X = B.T."""
    solved = linalg.spsolve(technosphere.T.tocsc(), interventions.T)
    return np.asarray(solved).reshape(technosphere.shape[0], -1)
