/* lb_least_time: `least_time header|last_byte [inflight]` (nginx plus).
 *
 * Each peer keeps a moving average of its response time (until the response
 * head with `header`, until the last byte with `last_byte`):
 * avg += (sample - avg) * 0.1, the first sample taken as is.  The usable
 * peer with the least avg * (active + 1) / weight wins; peers without a
 * sample yet count as 0 so they get measured; ties go by weighted round
 * robin.  With `inflight`, requests still running count too: a peer's time
 * is at least the mean age of its unfinished requests, so a server that
 * stopped answering stops looking fast.  Failed tries feed no sample.
 *
 * Without `inflight` a score changes only when its peer is picked or
 * released, so in a steady state (lb_sets.h) the usable peers sit in
 * classes keyed by score, the least first, with the tie round robin run
 * lazily inside: O(log n) per pick and release, the same choices.  With
 * `inflight` the scores move with the clock: every pick walks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "lb_sets.h"

struct lt_peer {
    double avg; /* seconds, moving average */
    bool measured;
    double start_sum; /* sum of pick times of unfinished requests */
    int running;
};

struct lt {
    struct lb_peer *peers;
    int n;
    bool last_byte, inflight;
    struct lt_peer *p;
    struct lbs *s;
};

static int score_cmp(const struct lbs_key *x, const struct lbs_key *y)
{
    return x->d < y->d ? -1 : x->d > y->d;
}

static struct lbs_key key_of(const void *pol, int i, int active);

static void lt_destroy(void *v)
{
    struct lt *st = v;
    if (st) {
        free(st->p);
        lbs_destroy(st->s);
    }
    free(st);
}

static void *lt_create(struct lb_peer *peers, int n, char **args, int nargs, char *err,
                       size_t errlen)
{
    struct lt *st = calloc(1, sizeof(*st));
    if (!st || !(st->p = calloc((size_t)(n ? n : 1), sizeof(*st->p))) ||
        !(st->s = lbs_create(peers, n, LBS_MIN_KEYED, score_cmp, key_of, st))) {
        snprintf(err, errlen, "out of memory");
        lt_destroy(st);
        return NULL;
    }
    st->peers = peers;
    st->n = n;
    if (nargs < 1) {
        snprintf(err, errlen, "least_time needs \"header\" or \"last_byte\"");
        goto fail;
    }
    if (strcmp(args[0], "last_byte") == 0)
        st->last_byte = true;
    else if (strcmp(args[0], "header") != 0) {
        snprintf(err, errlen, "invalid parameter \"%s\"", args[0]);
        goto fail;
    }
    for (int i = 1; i < nargs; i++) {
        if (strcmp(args[i], "inflight") == 0 && !st->inflight) {
            st->inflight = true;
        } else {
            snprintf(err, errlen, "invalid parameter \"%s\"", args[i]);
            goto fail;
        }
    }
    return st;
fail:
    lt_destroy(st);
    return NULL;
}

/* Peer i's score with `active` connections. */
static double score_with(const struct lt *st, int i, double now, int active)
{
    const struct lt_peer *p = &st->p[i];
    double t = p->measured ? p->avg : 0;
    if (st->inflight && p->running > 0) {
        double age = now - p->start_sum / p->running;
        if (age > t)
            t = age;
    }
    return t * (active + 1) / st->peers[i].weight;
}

static double score(const struct lt *st, int i, double now)
{
    return score_with(st, i, now, st->peers[i].active);
}

/* The class of peer i (fast mode: never with inflight, so the clock plays
 * no part in the score). */
static struct lbs_key key_of(const void *pol, int i, int active)
{
    return (struct lbs_key){0, 0, score_with(pol, i, 0, active)};
}

/* The least score, ties by weighted round robin, over every peer. */
static int walk(struct lt *st, const struct lb_ctx *ctx)
{
    struct lb_peer *pe = st->peers;
    int best = -1;
    double bs = 0;
    bool many = false, clean = !st->inflight;
    for (int i = 0; i < st->n; i++) {
        if (!ctx->usable(ctx->ud, i))
            continue;
        clean &= pe[i].eff_weight == pe[i].weight;
        double s = score(st, i, ctx->now);
        if (best < 0 || s < bs) {
            best = i;
            bs = s;
            many = false;
        } else if (s == bs) {
            many = true;
        }
    }
    if (best < 0)
        return -1;
    if (many) {
        int total = 0, first = best;
        for (int i = first; i < st->n; i++) {
            if (!ctx->usable(ctx->ud, i) || score(st, i, ctx->now) != bs)
                continue;
            pe[i].cur_weight += pe[i].eff_weight;
            total += pe[i].eff_weight;
            if (pe[i].eff_weight < pe[i].weight)
                pe[i].eff_weight++;
            if (pe[i].cur_weight > pe[best].cur_weight)
                best = i;
        }
        pe[best].cur_weight -= total;
    }
    lbs_warm(st->s, ctx, clean, best);
    return best;
}

static int lt_pick(void *v, const struct lb_ctx *ctx)
{
    struct lt *st = v;
    int best;
    if (!st->inflight && lbs_on(st->s, ctx)) {
        best = lbs_pick_min(st->s);
        /* its connection count grows by one after pick returns */
        if (best >= 0)
            lbs_rekey(st->s, best, st->peers[best].active + 1);
    } else {
        best = walk(st, ctx);
    }
    if (best >= 0) {
        st->p[best].running++;
        st->p[best].start_sum += ctx->now;
    }
    return best;
}

static void sample(struct lt *st, int peer, enum lb_result r, double hs, double s)
{
    struct lt_peer *p = &st->p[peer];
    if (p->running > 0) {
        /* the oldest start is unknown: take the mean one out */
        p->start_sum -= p->start_sum / p->running;
        p->running--;
    }
    if (p->running == 0)
        p->start_sum = 0;
    double t = st->last_byte ? s : hs;
    if (r != LB_OK || t < 0)
        return;
    if (!p->measured) {
        p->avg = t;
        p->measured = true;
    } else {
        p->avg += (t - p->avg) * 0.1;
    }
}

/* Called after the peer's count dropped. */
static void lt_release(void *v, int peer, enum lb_result r, double hs, double s, double now)
{
    struct lt *st = v;
    if (peer < 0 || peer >= st->n)
        return;
    (void)now;
    sample(st, peer, r, hs, s);
    lbs_rekey(st->s, peer, st->peers[peer].active);
}

const struct lb_ops lb_least_time_ops = {
    .name = "least_time",
    .create = lt_create,
    .pick = lt_pick,
    .release = lt_release,
    .destroy = lt_destroy,
};
