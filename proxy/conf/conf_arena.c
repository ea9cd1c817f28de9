/* conf_arena: the configuration's allocation region (see conf_arena.h). */
#include "conf_arena.h"

#include <stdlib.h>
#include <string.h>

#include "vars.h"

struct conf_chunk {
    struct conf_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *conf_alloc(struct conf_all *A, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!n)
        n = sizeof(max_align_t);
    struct conf_chunk *c = A->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = calloc(1, sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->next = A->arena;
        A->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

char *conf_strdup(struct conf_all *A, const char *s)
{
    size_t n = strlen(s);
    char *p = conf_alloc(A, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

void *conf_grow(struct conf_all *A, void *arr, int n, size_t size)
{
    if (n > 0 && (n & (n - 1)) != 0)
        return arr;
    size_t cap = n ? (size_t)n * 2 : 2;
    void *p = conf_alloc(A, cap * size);
    if (p && n)
        memcpy(p, arr, (size_t)n * size);
    return p;
}

int conf_keep_tmpl(struct conf_all *A, struct tmpl *t)
{
    if (A->ntmpls == A->tmplcap) {
        int cap = A->tmplcap ? A->tmplcap * 2 : 16;
        struct tmpl **p = realloc(A->tmpls, (size_t)cap * sizeof(*p));
        if (!p) {
            tmpl_free(t);
            return -1;
        }
        A->tmpls = p;
        A->tmplcap = cap;
    }
    A->tmpls[A->ntmpls++] = t;
    return 0;
}

void conf_arena_free(struct conf_all *A)
{
    if (!A)
        return;
    for (int i = 0; i < A->ntmpls; i++)
        tmpl_free(A->tmpls[i]);
    free(A->tmpls);
    struct conf_chunk *c = A->arena;
    while (c) {
        struct conf_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(A);
}
