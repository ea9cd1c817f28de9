/* conf_arena: the one allocation region of a loaded configuration.
 *
 * Everything conf_load() builds (strings, arrays, the cf_* structs) is carved
 * from one arena and released at once by conf_arena_free(), so inherited
 * arrays can simply be shared between levels.  Compiled templates (vars.h)
 * are malloc'd by their module; the arena keeps a list of them and frees them
 * with itself. */
#ifndef PROXY_CONF_ARENA_H
#define PROXY_CONF_ARENA_H

#include <stddef.h>

#include "config.h"

struct tmpl;
struct conf_chunk;

struct conf_all { /* what conf_load returns; cf first, so cf_free can find the rest */
    struct cf_main cf;
    struct conf_chunk *arena;
    struct tmpl **tmpls; /* malloc'd; every compiled template, freed with the arena */
    int ntmpls, tmplcap;
};

/* n zeroed bytes, aligned for any type; NULL when memory runs out. */
void *conf_alloc(struct conf_all *A, size_t n);
/* A copy of s in the arena; NULL when memory runs out. */
char *conf_strdup(struct conf_all *A, const char *s);
/* Makes room for element n of an array of `n` elements of `size` bytes: the
 * capacity doubles at powers of two, so no capacity field is needed.  Returns
 * the (maybe moved) array; NULL when memory runs out. */
void *conf_grow(struct conf_all *A, void *arr, int n, size_t size);
/* Takes `t`: freed with the arena.  -1 (and t freed) when memory runs out. */
int conf_keep_tmpl(struct conf_all *A, struct tmpl *t);
/* Frees the arena, its templates and A itself.  NULL is fine. */
void conf_arena_free(struct conf_all *A);

/* Appends one zeroed slot to arr[n] and returns it (n grows), or NULL. */
#define CONF_PUSH(A, arr, n)                                                                       \
    ((arr) = conf_grow((A), (arr), (n), sizeof(*(arr))), (arr) ? &(arr)[(n)++] : NULL)

#endif
