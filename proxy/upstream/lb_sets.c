/* lb_sets: classes of peers with a lazy smooth round robin (see lb_sets.h).
 *
 * Memory: one lbs_pm per peer, classes in one array that grows up to n (a
 * class without members goes back on a free list but keeps its heap
 * arrays), a min-heap
 * of the classes in use, and an open-addressing table from key to class
 * sized for n classes. */
#include "lb_sets.h"

#include <stdlib.h>
#include <string.h>

struct lbs_wh { /* the members of one weight in a class: a heap */
    int w;
    int n, cap;
    int *a;
};

struct lbs_class {
    struct lbs_key key;
    int64_t tau;   /* steps taken in this class */
    int64_t total; /* sum of the members' weights */
    int size;
    int nwh;
    struct lbs_wh wh[LBS_MAXW];
    int hpos;      /* in the class heap; -1 on the free list */
    int next_free; /* free list link */
};

struct lbs_pm {
    int64_t off; /* cur_weight = off + tau * weight, while in a class */
    int cls;     /* -1: in no class */
    int wh, pos; /* its weight heap and place there */
};

struct lbs {
    struct lb_peer *peers;
    int n;
    lbs_cmp cmp;
    lbs_keyf key;
    const void *pol;
    struct lbs_pm *pm;
    struct lbs_class *cl;
    int ncl, capcl, free_head;
    int *heap; /* classes in use, least key first */
    int nheap;
    int *ht; /* class + 1; 0 empty */
    uint32_t htmask;
    int members;
    int min_n;
    bool on;
    uint64_t gen;     /* fast mode's gen */
    uint64_t run_gen; /* gen of the clean exact picks counted in run */
    int run;
};

struct lbs *lbs_create(struct lb_peer *peers, int n, int min_n, lbs_cmp cmp, lbs_keyf key,
                       const void *pol)
{
    struct lbs *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->peers = peers;
    s->n = n;
    s->cmp = cmp;
    s->key = key;
    s->pol = pol;
    s->min_n = min_n;
    s->free_head = -1;
    uint32_t ht = 4;
    while (ht < 2u * (uint32_t)(n > 0 ? n : 1))
        ht <<= 1;
    s->htmask = ht - 1;
    size_t nn = (size_t)(n > 0 ? n : 1);
    s->pm = calloc(nn, sizeof(*s->pm));
    s->heap = calloc(nn, sizeof(*s->heap));
    s->ht = calloc(ht, sizeof(*s->ht));
    if (!s->pm || !s->heap || !s->ht) {
        lbs_destroy(s);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        s->pm[i].cls = -1;
    return s;
}

void lbs_destroy(struct lbs *s)
{
    if (!s)
        return;
    if (s->cl)
        for (int c = 0; c < s->ncl; c++)
            for (int k = 0; k < LBS_MAXW; k++)
                free(s->cl[c].wh[k].a);
    free(s->pm);
    free(s->cl);
    free(s->heap);
    free(s->ht);
    free(s);
}

/* --- the key table ------------------------------------------------------- */

static bool key_eq(const struct lbs_key *x, const struct lbs_key *y)
{
    return x->a == y->a && x->b == y->b && memcmp(&x->d, &y->d, sizeof(x->d)) == 0;
}

static uint32_t key_hash(const struct lbs_key *k)
{
    uint64_t d;
    memcpy(&d, &k->d, sizeof(d));
    uint64_t h = (uint64_t)k->a * 0x9e3779b97f4a7c15ull ^ (uint64_t)k->b * 0xc2b2ae3d27d4eb4full ^
                 d * 0x165667b19e3779f9ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static int ht_find(const struct lbs *s, const struct lbs_key *k, uint32_t *slot)
{
    uint32_t j = key_hash(k) & s->htmask;
    while (s->ht[j]) {
        int c = s->ht[j] - 1;
        if (key_eq(&s->cl[c].key, k)) {
            *slot = j;
            return c;
        }
        j = (j + 1) & s->htmask;
    }
    *slot = j;
    return -1;
}

/* Linear probing deletion by shifting back the entries after the hole. */
static void ht_delete(struct lbs *s, uint32_t j)
{
    s->ht[j] = 0;
    uint32_t k = (j + 1) & s->htmask;
    while (s->ht[k]) {
        uint32_t home = key_hash(&s->cl[s->ht[k] - 1].key) & s->htmask;
        /* the entry at k may move to j if home is not in (j, k] cyclically */
        bool stays = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (!stays) {
            s->ht[j] = s->ht[k];
            s->ht[k] = 0;
            j = k;
        }
        k = (k + 1) & s->htmask;
    }
}

/* --- the class heap (least key first) ------------------------------------ */

static void cheap_set(struct lbs *s, int pos, int c)
{
    s->heap[pos] = c;
    s->cl[c].hpos = pos;
}

static void cheap_up(struct lbs *s, int pos)
{
    int c = s->heap[pos];
    while (pos > 0) {
        int up = (pos - 1) / 2;
        if (s->cmp(&s->cl[s->heap[up]].key, &s->cl[c].key) <= 0)
            break;
        cheap_set(s, pos, s->heap[up]);
        pos = up;
    }
    cheap_set(s, pos, c);
}

static void cheap_down(struct lbs *s, int pos)
{
    int c = s->heap[pos];
    for (;;) {
        int l = 2 * pos + 1, m = l;
        if (l >= s->nheap)
            break;
        if (l + 1 < s->nheap && s->cmp(&s->cl[s->heap[l + 1]].key, &s->cl[s->heap[l]].key) < 0)
            m = l + 1;
        if (s->cmp(&s->cl[s->heap[m]].key, &s->cl[c].key) >= 0)
            break;
        cheap_set(s, pos, s->heap[m]);
        pos = m;
    }
    cheap_set(s, pos, c);
}

static int class_get(struct lbs *s, const struct lbs_key *k)
{
    uint32_t slot;
    int c = ht_find(s, k, &slot);
    if (c >= 0)
        return c;
    if (s->free_head >= 0) {
        c = s->free_head;
        s->free_head = s->cl[c].next_free;
    } else {
        if (s->ncl == s->capcl) { /* at most n classes hold members */
            int cap = s->capcl ? 2 * s->capcl : 4;
            if (cap > s->n)
                cap = s->n > 0 ? s->n : 1;
            struct lbs_class *nc = realloc(s->cl, sizeof(*nc) * (size_t)cap);
            if (!nc)
                return -1;
            memset(nc + s->capcl, 0, sizeof(*nc) * (size_t)(cap - s->capcl));
            s->cl = nc;
            s->capcl = cap;
        }
        c = s->ncl++;
    }
    struct lbs_class *cl = &s->cl[c];
    cl->key = *k;
    cl->tau = cl->total = 0;
    cl->size = 0;
    cl->nwh = 0;
    s->ht[slot] = c + 1;
    s->nheap++;
    cheap_set(s, s->nheap - 1, c);
    cheap_up(s, s->nheap - 1);
    return c;
}

static void class_put(struct lbs *s, int c)
{
    struct lbs_class *cl = &s->cl[c];
    uint32_t slot;
    if (ht_find(s, &cl->key, &slot) == c)
        ht_delete(s, slot);
    int pos = cl->hpos, last = s->heap[--s->nheap];
    if (last != c) {
        cheap_set(s, pos, last);
        cheap_up(s, pos);
        cheap_down(s, s->cl[last].hpos);
    }
    cl->hpos = -1;
    cl->next_free = s->free_head;
    s->free_head = c;
}

/* --- the weight heaps (largest off first, then the lowest index) --------- */

static bool before(const struct lbs *s, int i, int j)
{
    return s->pm[i].off > s->pm[j].off || (s->pm[i].off == s->pm[j].off && i < j);
}

static void wh_set(struct lbs *s, struct lbs_wh *h, int pos, int i)
{
    h->a[pos] = i;
    s->pm[i].pos = pos;
}

static void wh_up(struct lbs *s, struct lbs_wh *h, int pos)
{
    int i = h->a[pos];
    while (pos > 0) {
        int up = (pos - 1) / 2;
        if (!before(s, i, h->a[up]))
            break;
        wh_set(s, h, pos, h->a[up]);
        pos = up;
    }
    wh_set(s, h, pos, i);
}

static void wh_down(struct lbs *s, struct lbs_wh *h, int pos)
{
    int i = h->a[pos];
    for (;;) {
        int l = 2 * pos + 1, m = l;
        if (l >= h->n)
            break;
        if (l + 1 < h->n && before(s, h->a[l + 1], h->a[l]))
            m = l + 1;
        if (!before(s, h->a[m], i))
            break;
        wh_set(s, h, pos, h->a[m]);
        pos = m;
    }
    wh_set(s, h, pos, i);
}

/* --- members ------------------------------------------------------------- */

static int64_t cur_of(const struct lbs *s, int i)
{
    const struct lbs_pm *m = &s->pm[i];
    return m->off + s->cl[m->cls].tau * s->peers[i].weight;
}

static int add(struct lbs *s, int i, int c, int64_t cur)
{
    struct lbs_class *cl = &s->cl[c];
    int w = s->peers[i].weight, k = 0;
    while (k < cl->nwh && cl->wh[k].w != w)
        k++;
    if (k == cl->nwh) {
        if (k == LBS_MAXW)
            return -1;
        cl->nwh++;
        cl->wh[k].w = w;
        cl->wh[k].n = 0;
    }
    struct lbs_wh *h = &cl->wh[k];
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 4;
        int *a = realloc(h->a, sizeof(*a) * (size_t)cap);
        if (!a)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    struct lbs_pm *m = &s->pm[i];
    m->cls = c;
    m->wh = k;
    m->off = cur - cl->tau * w;
    h->n++;
    wh_set(s, h, h->n - 1, i);
    wh_up(s, h, h->n - 1);
    cl->total += w;
    cl->size++;
    s->members++;
    return 0;
}

/* Takes member i out of its class; returns its counter. */
static int64_t del(struct lbs *s, int i)
{
    struct lbs_pm *m = &s->pm[i];
    int c = m->cls;
    struct lbs_class *cl = &s->cl[c];
    int64_t cur = cur_of(s, i);
    struct lbs_wh *h = &cl->wh[m->wh];
    int pos = m->pos, last = h->a[--h->n];
    if (last != i) {
        wh_set(s, h, pos, last);
        wh_up(s, h, pos);
        wh_down(s, h, s->pm[last].pos);
    }
    if (h->n == 0) { /* keep the weight heaps dense: move the last one here */
        int k = m->wh, lk = cl->nwh - 1;
        if (k != lk) {
            struct lbs_wh t = cl->wh[k];
            cl->wh[k] = cl->wh[lk];
            cl->wh[lk] = t;
            for (int j = 0; j < cl->wh[k].n; j++)
                s->pm[cl->wh[k].a[j]].wh = k;
        }
        cl->nwh--;
    }
    m->cls = -1;
    cl->total -= s->peers[i].weight;
    cl->size--;
    s->members--;
    if (cl->size == 0)
        class_put(s, c);
    return cur;
}

/* Puts peer i (its cur_weight as it is now) into the class of key k; -1
 * when memory runs out or its weight would be one too many. */
static int insert(struct lbs *s, int i, const struct lbs_key *k)
{
    int c = class_get(s, k);
    if (c < 0)
        return -1;
    int r = add(s, i, c, s->peers[i].cur_weight);
    if (r < 0 && s->cl[c].size == 0)
        class_put(s, c);
    return r;
}

void lbs_rekey(struct lbs *s, int i, int active)
{
    if (!lbs_member(s, i))
        return;
    struct lbs_key k = s->key(s->pol, i, active);
    if (key_eq(&s->cl[s->pm[i].cls].key, &k))
        return;
    int64_t cur = del(s, i);
    int c = class_get(s, &k);
    if (c < 0 || add(s, i, c, cur) < 0) {
        s->peers[i].cur_weight = (int)cur;
        if (c >= 0 && s->cl[c].size == 0)
            class_put(s, c);
        lbs_clear(s);
    }
}

bool lbs_member(const struct lbs *s, int i)
{
    return i >= 0 && i < s->n && s->pm[i].cls >= 0;
}

int64_t lbs_cur(const struct lbs *s, int i)
{
    return lbs_member(s, i) ? cur_of(s, i) : s->peers[i].cur_weight;
}

int lbs_pick_min(struct lbs *s)
{
    if (s->nheap == 0)
        return -1;
    struct lbs_class *cl = &s->cl[s->heap[0]];
    cl->tau++;
    int best = -1;
    int64_t bv = 0;
    struct lbs_wh *bh = NULL;
    for (int k = 0; k < cl->nwh; k++) {
        struct lbs_wh *h = &cl->wh[k];
        int top = h->a[0];
        int64_t v = s->pm[top].off + cl->tau * h->w;
        if (best < 0 || v > bv || (v == bv && top < best)) {
            best = top;
            bv = v;
            bh = h;
        }
    }
    s->pm[best].off -= cl->total;
    wh_down(s, bh, 0);
    return best;
}

/* --- the mode ------------------------------------------------------------ */

void lbs_clear(struct lbs *s)
{
    for (int i = 0; i < s->n && s->members > 0; i++)
        if (s->pm[i].cls >= 0)
            s->peers[i].cur_weight = (int)del(s, i);
    s->on = false;
    s->run = 0;
}

bool lbs_on(struct lbs *s, const struct lb_ctx *ctx)
{
    if (s->on && ctx->gen != 0 && ctx->gen == s->gen)
        return true;
    if (s->on)
        lbs_clear(s);
    return false;
}

bool lbs_warm(struct lbs *s, const struct lb_ctx *ctx, bool clean, int best)
{
    if (best < 0 || !clean || ctx->gen == 0 || s->n < s->min_n) {
        s->run = 0;
        return false;
    }
    if (ctx->gen != s->run_gen) {
        s->run_gen = ctx->gen;
        s->run = 0;
    }
    if (++s->run < LBS_WARMUP)
        return false;
    for (int i = 0; i < s->n; i++) {
        if (!ctx->usable(ctx->ud, i))
            continue;
        struct lbs_key k = s->key(s->pol, i, s->peers[i].active + (i == best));
        if (insert(s, i, &k) < 0) {
            lbs_clear(s);
            return false;
        }
    }
    s->on = true;
    s->gen = ctx->gen;
    s->run = 0;
    return true;
}
