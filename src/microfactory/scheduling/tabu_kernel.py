"""The tabu search's inner loop, compiled (numba) on flat integer arrays.

Why compiled (docs/decisions/0010-scheduling-search.md): the search is worth what it can try in
the time it has. In pure Python one move (re-timing the graph, finding the critical path, scoring
the neighbours) cost about 0.4 ms on 225 operations; here it costs microseconds, so the same
budget tries a hundred times more moves. Arrays, not objects: a plan is a machine per operation
plus one doubly linked list per machine (`mpred`, `msucc`, `mfirst`), so a move is O(1) to make
and to undo, and the heads `r` and tails `q` are re-timed in one pass in topological order.

Neighbourhoods on one critical path (Nowicki-Smutnicki N5 widened to N7, Zhang et al. 2007): in
every critical block, move the first operation behind each other one, the last in front of each
other one, and each inner one to the front or back of the block; plus, for flexible shops, move a
critical operation to another eligible machine at the place its head/tail estimate likes best
(Mastrolilli-Gambardella). Every candidate is scored by the approximate head/tail evaluation of
the changed segment only; the best one that is not tabu (or beats the best plan) is made, and
undone when it closes a cycle. Pure array code: no solver, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit

# rows of the scalar state array `st`
IT, CLOCK, STALE, BEST, CMAX, PATIENCE, LOW, KICKS, BOUND = range(9)
STATE_SIZE = 9
FORWARD, BACKWARD, REASSIGN = 0, 1, 2
BIG = 1 << 60

F = TypeVar("F", bound=Callable[..., Any])


def jit(function: F) -> F:
    """numba's compiler (cached on disk, GIL released), typed so that callers keep the signature."""
    return cast(F, njit(cache=True, nogil=True)(function))


@jit
def _rand(rng: Any, n: int) -> int:
    """xorshift64 in [0, n): explicit state, so a seed repeats exactly whatever else runs."""
    x = rng[0]
    x ^= x << np.uint64(13)
    x ^= x >> np.uint64(7)
    x ^= x << np.uint64(17)
    rng[0] = x
    return np.int64(x % np.uint64(n))  # type: ignore[return-value]


@jit
def evaluate(g: Any, p: Any, mpred: Any, msucc: Any, r: Any, q: Any, order: Any, work: Any) -> int:
    """Heads, tails and the makespan of the current graph; -1 when it has a cycle."""
    jp_ptr, _jp_idx, js_ptr, js_idx, release = g[0], g[1], g[2], g[3], g[4]
    n = p.shape[0]
    indeg, stack = work[0], work[1]
    top = 0
    for i in range(n):
        indeg[i] = jp_ptr[i + 1] - jp_ptr[i] + (1 if mpred[i] >= 0 else 0)
        r[i] = release[i]
        if indeg[i] == 0:
            stack[top] = i
            top += 1
    count = 0
    while top > 0:
        top -= 1
        i = stack[top]
        order[count] = i
        count += 1
        end = r[i] + p[i]
        for k in range(js_ptr[i], js_ptr[i + 1] + 1):
            s = js_idx[k] if k < js_ptr[i + 1] else msucc[i]
            if s < 0:
                continue
            r[s] = max(r[s], end)
            indeg[s] -= 1
            if indeg[s] == 0:
                stack[top] = s
                top += 1
    if count < n:
        return -1
    cmax = 0
    for idx in range(n - 1, -1, -1):
        i = order[idx]
        tail = 0
        for k in range(js_ptr[i], js_ptr[i + 1] + 1):
            s = js_idx[k] if k < js_ptr[i + 1] else msucc[i]
            if s >= 0 and p[s] + q[s] > tail:
                tail = p[s] + q[s]
        q[i] = tail
        cmax = max(cmax, r[i] + p[i])
    return cmax


@jit
def _job_head(g: Any, p: Any, r: Any, i: int) -> int:
    jp_ptr, jp_idx, release = g[0], g[1], g[4]
    head: int = release[i]
    for k in range(jp_ptr[i], jp_ptr[i + 1]):
        b = jp_idx[k]
        head = max(head, r[b] + p[b])
    return head


@jit
def _job_tail(g: Any, p: Any, q: Any, i: int) -> int:
    js_ptr, js_idx = g[2], g[3]
    tail = 0
    for k in range(js_ptr[i], js_ptr[i + 1]):
        s = js_idx[k]
        tail = max(tail, p[s] + q[s])
    return tail


@jit
def _critical_path(g: Any, p: Any, mpred: Any, r: Any, q: Any, cmax: int, path: Any, rng: Any) -> int:
    """One longest path into `path` (first to last); a random one of the ends, machine arcs preferred."""
    jp_ptr, jp_idx = g[0], g[1]
    n = p.shape[0]
    ends = 0
    for i in range(n):
        if r[i] + p[i] == cmax:
            ends += 1
    pick = _rand(rng, ends)
    current = -1
    for i in range(n):
        if r[i] + p[i] == cmax:
            if pick == 0:
                current = i
                break
            pick -= 1
    length = 0
    while current >= 0:
        path[length] = current
        length += 1
        before = mpred[current]
        if before < 0 or r[before] + p[before] != r[current]:
            before = -1
            for k in range(jp_ptr[current], jp_ptr[current + 1]):
                b = jp_idx[k]
                if r[b] + p[b] == r[current]:
                    before = b
                    break
        current = before
    path[:length] = path[:length][::-1].copy()
    return length


@jit
def _segment_estimate(
    g: Any, p: Any, r: Any, q: Any, mpred: Any, msucc: Any, buf: Any, length: int, first: int, last: int
) -> int:
    """Makespan estimate when the machine run `first`..`last` is re-ordered as buf[:length]."""
    before, after = mpred[first], msucc[last]
    t = r[before] + p[before] if before >= 0 else 0
    heads = np.empty(length, np.int64)
    for k in range(length):
        y = buf[k]
        h = _job_head(g, p, r, y)
        heads[k] = h if h > t else t
        t = heads[k] + p[y]
    t = p[after] + q[after] if after >= 0 else 0
    best = 0
    for k in range(length - 1, -1, -1):
        y = buf[k]
        tail = _job_tail(g, p, q, y)
        tail = max(tail, t)
        best = max(best, heads[k] + p[y] + tail)
        t = tail + p[y]
    return best


@jit
def _best_insertion(
    g: Any, dur: Any, p: Any, r: Any, q: Any, msucc: Any, mfirst: Any, i: int, machine: int
) -> tuple[int, int]:
    """(estimate, anchor) of the best place for i on `machine`; anchor -1 is the front."""
    head, tail, d = _job_head(g, p, r, i), _job_tail(g, p, q, i), dur[i, machine]
    best, anchor = BIG, -1
    prev = -1
    x = mfirst[machine]
    while True:
        start = head
        if prev >= 0 and r[prev] + p[prev] > start:
            start = r[prev] + p[prev]
        rest = tail
        if x >= 0 and p[x] + q[x] > rest:
            rest = p[x] + q[x]
        if start + d + rest < best:
            best, anchor = start + d + rest, prev
        if x < 0:
            break
        prev, x = x, msucc[x]
    return best, anchor


@jit
def _add(
    cand: Any, count: int, kind: int, op: int, target: int, anchor: int, est: int, a: int, b: int
) -> int:
    if count < cand.shape[1]:
        cand[0, count], cand[1, count], cand[2, count] = kind, op, target
        cand[3, count], cand[4, count], cand[5, count], cand[6, count] = anchor, est, a, b
        return count + 1
    return count


@jit
def _block_moves(
    g: Any,
    p: Any,
    r: Any,
    q: Any,
    mpred: Any,
    msucc: Any,
    mach: Any,
    block: Any,
    k: int,
    cand: Any,
    count: int,
) -> int:
    """N7 moves of one critical block block[0..k] (k >= 1), each scored on its segment."""
    buf = np.empty(k + 1, np.int64)
    m = mach[block[0]]
    for j in range(1, k + 1):  # the first one behind block[j]
        for t in range(j):
            buf[t] = block[t + 1]
        buf[j] = block[0]
        est = _segment_estimate(g, p, r, q, mpred, msucc, buf, j + 1, block[0], block[j])
        count = _add(cand, count, FORWARD, block[0], m, block[j], est, block[j], block[0])
    for j in range(k - 1, -1, -1):  # the last one in front of block[j]
        buf[0] = block[k]
        for t in range(j, k):
            buf[t - j + 1] = block[t]
        est = _segment_estimate(g, p, r, q, mpred, msucc, buf, k - j + 1, block[j], block[k])
        count = _add(cand, count, BACKWARD, block[k], m, mpred[block[j]], est, block[k], block[j])
    for i in range(1, k):  # an inner one to the front or to the back
        buf[0] = block[i]
        for t in range(i):
            buf[t + 1] = block[t]
        est = _segment_estimate(g, p, r, q, mpred, msucc, buf, i + 1, block[0], block[i])
        count = _add(cand, count, BACKWARD, block[i], m, mpred[block[0]], est, block[i], block[0])
        for t in range(i + 1, k + 1):
            buf[t - i - 1] = block[t]
        buf[k - i] = block[i]
        est = _segment_estimate(g, p, r, q, mpred, msucc, buf, k - i + 1, block[i], block[k])
        count = _add(cand, count, FORWARD, block[i], m, block[k], est, block[k], block[i])
    return count


@jit
def _moves(g: Any, dur: Any, cur: Any, path: Any, length: int, cand: Any) -> int:
    """Scored candidate moves on one critical path; returns how many are in `cand`."""
    mach, p, mpred, msucc, mfirst, r, q = cur[0], cur[1], cur[2], cur[3], cur[4], cur[5], cur[6]
    elig_ptr, elig_idx = g[5], g[6]
    count = 0
    start = 0
    for k in range(1, length + 1):
        if k == length or msucc[path[k - 1]] != path[k]:
            if k - 1 > start:
                count = _block_moves(
                    g, p, r, q, mpred, msucc, mach, path[start:k], k - 1 - start, cand, count
                )
            start = k
    for k in range(length):
        i = path[k]
        for e in range(elig_ptr[i], elig_ptr[i + 1]):
            m = elig_idx[e]
            if m != mach[i]:
                est, anchor = _best_insertion(g, dur, p, r, q, msucc, mfirst, i, m)
                count = _add(cand, count, REASSIGN, i, m, anchor, est, i, m)
    return count


@jit
def _relink(dur: Any, cur: Any, op: int, target: int, anchor: int) -> None:
    """Take `op` out of its machine's list and put it on `target` right after `anchor` (-1: front)."""
    mach, p, mpred, msucc, mfirst = cur[0], cur[1], cur[2], cur[3], cur[4]
    a, b = mpred[op], msucc[op]
    if a >= 0:
        msucc[a] = b
    else:
        mfirst[mach[op]] = b
    if b >= 0:
        mpred[b] = a
    if anchor < 0:
        b = mfirst[target]
        mfirst[target] = op
    else:
        b = msucc[anchor]
        msucc[anchor] = op
    mpred[op], msucc[op] = anchor, b
    if b >= 0:
        mpred[b] = op
    mach[op], p[op] = target, dur[op, target]


@jit
def _forbidden(cand: Any, c: int, tabu_pair: Any, tabu_mach: Any, clock: int) -> bool:
    if cand[0, c] == REASSIGN:
        return tabu_mach[cand[1, c], cand[2, c]] >= clock  # type: ignore[no-any-return]
    return tabu_pair[cand[5, c], cand[6, c]] >= clock  # type: ignore[no-any-return]


@jit
def _remember(cand: Any, c: int, cur: Any, tabu_pair: Any, tabu_mach: Any, until: int) -> None:
    """Make undoing this move tabu: the pairs it reverses, or the machine it leaves."""
    kind, op, target = cand[0, c], cand[1, c], cand[2, c]
    mach, mpred, msucc = cur[0], cur[2], cur[3]
    if kind == REASSIGN:
        tabu_mach[op, mach[op]] = until
    elif kind == FORWARD:  # op jumps behind msucc[op]..target-anchor: "op before x" is lost
        x = msucc[op]
        while x >= 0:
            tabu_pair[op, x] = until
            if x == cand[3, c]:
                break
            x = msucc[x]
    else:  # op jumps in front of the anchor's successor .. mpred[op]: "x before op" is lost
        x = mpred[op]
        anchor = cand[3, c]
        while x >= 0 and x != anchor:
            tabu_pair[x, op] = until
            x = mpred[x]
    _ = target


@jit
def _try(g: Any, dur: Any, cur: Any, work: Any, cand: Any, c: int) -> int:
    """Make candidate c; the new makespan, or -1 (and the move undone) when it closes a cycle."""
    mach, p, mpred, msucc, r, q, order = cur[0], cur[1], cur[2], cur[3], cur[5], cur[6], cur[7]
    op = cand[1, c]
    old_machine, old_anchor = mach[op], mpred[op]
    _relink(dur, cur, op, cand[2, c], cand[3, c])
    cmax = evaluate(g, p, mpred, msucc, r, q, order, work)
    if cmax >= 0:
        return cmax
    _relink(dur, cur, op, old_machine, old_anchor)
    evaluate(g, p, mpred, msucc, r, q, order, work)
    return -1


@jit
def _choose(cand: Any, count: int, dead: Any, tabu_pair: Any, tabu_mach: Any, st: Any, rng: Any) -> int:
    """The best-scored live candidate that is allowed (not tabu, or better than the best); else -1."""
    chosen, score = -1, BIG
    for c in range(count):
        if dead[c]:
            continue
        est = cand[4, c]
        if est >= st[BEST] and _forbidden(cand, c, tabu_pair, tabu_mach, st[CLOCK]):
            continue
        key = est * 8 + _rand(rng, 8)
        if key < score:
            chosen, score = c, key
    return chosen


@jit
def keep_best(cur: Any, best: Any, st: Any) -> None:
    for row in range(5):
        best[row][:] = cur[row]
    st[BEST] = st[CMAX]


@jit
def restore_best(g: Any, cur: Any, best: Any, st: Any, work: Any) -> None:
    for row in range(5):
        cur[row][:] = best[row]
    st[CMAX] = evaluate(g, cur[1], cur[2], cur[3], cur[5], cur[6], cur[7], work)


@jit
def _step(g: Any, dur: Any, cur: Any, best: Any, work: Any, cand: Any, tabu: Any, st: Any, rng: Any) -> bool:
    """One move; False when the critical path offers none."""
    tabu_pair, tabu_mach = tabu
    path, dead = work[2], work[3]
    length = _critical_path(g, cur[1], cur[2], cur[5], cur[6], st[CMAX], path, rng)
    count = _moves(g, dur, cur, path, length, cand)
    if count == 0:
        return False
    dead[:count] = 0
    until = st[CLOCK] + st[LOW] + _rand(rng, st[LOW] // 2 + 3)
    while True:
        c = _choose(cand, count, dead, tabu_pair, tabu_mach, st, rng)
        if c < 0:
            c = _rand(rng, count)
            if dead[c]:
                break
        _remember(cand, c, cur, tabu_pair, tabu_mach, until)
        cmax = _try(g, dur, cur, work, cand, c)
        if cmax >= 0:
            st[CMAX] = cmax
            break
        dead[c] = 1
    st[IT] += 1
    st[CLOCK] += 1
    if st[CMAX] < st[BEST]:
        keep_best(cur, best, st)
        st[STALE] = 0
    else:
        st[STALE] += 1
    return True


@jit
def _restart(g: Any, dur: Any, cur: Any, best: Any, work: Any, cand: Any, st: Any, rng: Any) -> None:
    """Back to the best plan, shaken by up to KICKS random critical-path moves; tabu list emptied."""
    restore_best(g, cur, best, st, work)
    st[CLOCK] += 4 * st[LOW] + 8  # every tabu mark expires
    st[STALE] = 0
    kicks = _rand(rng, st[KICKS] + 1)
    for _ in range(kicks):
        length = _critical_path(g, cur[1], cur[2], cur[5], cur[6], st[CMAX], work[2], rng)
        count = _moves(g, dur, cur, work[2], length, cand)
        if count == 0:
            return
        cmax = _try(g, dur, cur, work, cand, _rand(rng, count))
        if cmax >= 0:
            st[CMAX] = cmax


@jit
def search(
    g: Any, dur: Any, cur: Any, best: Any, work: Any, cand: Any, tabu: Any, st: Any, rng: Any, moves: int
) -> int:
    """Up to `moves` tabu moves from the current state (kept in the arrays between calls).

    Returns 1 when the search is over (the bound is met, or no move exists), else 0.
    """
    for _ in range(moves):
        if st[BEST] <= st[BOUND]:
            return 1
        if not _step(g, dur, cur, best, work, cand, tabu, st, rng):
            return 1
        if st[STALE] >= st[PATIENCE]:
            _restart(g, dur, cur, best, work, cand, st, rng)
    return 0
