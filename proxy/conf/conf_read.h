/* conf_read: nginx configuration text into a tree of generic statements.
 *
 * The grammar is nginx's ngx_conf_read_token: words, `;`, `{ }` blocks, ' and
 * " quoting with backslash escapes, # comments.  `include FILE|GLOB` is
 * expanded where it stands (relative to the main file's folder, at most
 * MAX_INCLUDE_DEPTH deep), so the statements it brings in belong to the block
 * around it.  Nothing here knows a directive: conf_run.h gives meaning to the
 * tree.  Errors are "FILE:LINE: message" in nginx's wording, written to the
 * reader's err buffer. */
#ifndef PROXY_CONF_READ_H
#define PROXY_CONF_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "conf_arena.h"

struct conf_node { /* one statement */
    char **args;   /* args[0] is the directive name; arena */
    int nargs;
    const char *file; /* where its `;` or `{` is */
    int line;
    bool block;             /* ended by `{ ... }` rather than `;` */
    struct conf_node *kids; /* the block's statements */
    int nkids;
};

struct conf_reader {    /* the state of one conf_load() */
    struct conf_all *A; /* borrowed: every node and word goes there */
    char *err;          /* borrowed: the message of the first error */
    size_t errlen;
    const char *prefix;   /* -p folder: relative paths in directives */
    const char *conf_dir; /* the main file's folder: relative includes */
    int depth;            /* include nesting now */
};

/* Writes "FILE:LINE: message" to R->err.  Always returns -1. */
int conf_error(struct conf_reader *R, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes "out of memory" to R->err.  Always returns -1. */
int conf_oom(struct conf_reader *R);

/* Reads the file at `path` and appends its statements to kids[nkids].  A
 * failure to open or read it is reported at from_file:from_line (the include), or
 * without a position when from_file is NULL (the main file).  0 or -1. */
int conf_read_file(struct conf_reader *R, const char *path, const char *from_file, int from_line,
                   struct conf_node **kids, int *nkids);
/* The same for text in memory (borrowed) named `file` in messages. */
int conf_read_text(struct conf_reader *R, const char *file, const char *text, size_t len,
                   struct conf_node **kids, int *nkids);

/* `path` made absolute against folder `base` (unchanged when it already is,
 * or when base is NULL or empty), in the arena; NULL when memory runs out. */
char *conf_path(struct conf_all *A, const char *base, const char *path);

#endif
