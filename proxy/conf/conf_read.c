/* conf_read: nginx configuration text into statements (see conf_read.h). */
#include "conf_read.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INCLUDE_DEPTH 16

int conf_error(struct conf_reader *R, const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(R->err, R->errlen, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= R->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->err + n, R->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int conf_oom(struct conf_reader *R)
{
    snprintf(R->err, R->errlen, "out of memory");
    return -1;
}

struct lex {
    const char *p, *end;
    const char *file;
    int line;
};

enum tok { T_WORD, T_SEMI, T_LBRACE, T_RBRACE, T_EOF, T_ERR };

/* What ends an unquoted word, as in nginx.  Not strchr(): it would match a
 * NUL byte in the file, ending a word before it starts, forever. */
static bool word_end(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';' || ch == '{';
}

/* Reads one token as nginx's ngx_conf_read_token does.  A word's value (with
 * \" \' \\ \t \r \n escapes applied) goes to *word (arena). */
static enum tok lex_next(struct conf_reader *R, struct lex *L, char **word)
{
    for (;;) { /* whitespace and comments */
        if (L->p >= L->end)
            return T_EOF;
        char ch = *L->p;
        if (ch == '\n') {
            L->line++;
            L->p++;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            L->p++;
        } else if (ch == '#') {
            while (L->p < L->end && *L->p != '\n')
                L->p++;
        } else {
            break;
        }
    }
    char ch = *L->p;
    if (ch == ';' || ch == '{' || ch == '}') {
        L->p++;
        return ch == ';' ? T_SEMI : ch == '{' ? T_LBRACE : T_RBRACE;
    }
    const char *start = L->p;
    const char *s, *e;
    if (ch == '"' || ch == '\'') {
        char q = ch;
        L->p++;
        s = L->p;
        for (;;) {
            if (L->p >= L->end) {
                conf_error(R, L->file, L->line, "unexpected end of file, expecting \"%c\"", q);
                return T_ERR;
            }
            if (*L->p == '\\' && L->p + 1 < L->end) {
                if (L->p[1] == '\n')
                    L->line++;
                L->p += 2;
                continue;
            }
            if (*L->p == '\n')
                L->line++;
            if (*L->p == q)
                break;
            L->p++;
        }
        e = L->p++;
        if (L->p < L->end && !word_end(*L->p)) {
            conf_error(R, L->file, L->line, "unexpected \"%c\"", *L->p);
            return T_ERR;
        }
    } else {
        bool var = false;
        while (L->p < L->end) {
            ch = *L->p;
            if (ch == '{' && var) {
                L->p++;
                continue;
            }
            var = false;
            if (ch == '\\' && L->p + 1 < L->end) {
                L->p += 2;
                continue;
            }
            if (ch == '$')
                var = true;
            if (word_end(ch))
                break;
            L->p++;
        }
        s = start;
        e = L->p;
    }
    char *w = conf_alloc(R->A, (size_t)(e - s) + 1);
    if (!w) {
        conf_oom(R);
        return T_ERR;
    }
    size_t n = 0;
    for (const char *c = s; c < e; c++) {
        if (*c == '\\' && c + 1 < e) {
            char x = c[1];
            if (x == '"' || x == '\'' || x == '\\') {
                w[n++] = x;
                c++;
                continue;
            }
            if (x == 't' || x == 'r' || x == 'n') {
                w[n++] = x == 't' ? '\t' : x == 'r' ? '\r' : '\n';
                c++;
                continue;
            }
        }
        w[n++] = *c;
    }
    w[n] = 0;
    *word = w;
    return T_WORD;
}

/* "CALL \"PATH\" failed (errno: text)" at the include, or without a position
 * for the main file.  Always -1. */
static int file_error(struct conf_reader *R, const char *from_file, int from_line, const char *call,
                      const char *path, int e)
{
    if (from_file)
        return conf_error(R, from_file, from_line, "%s \"%s\" failed (%d: %s)", call, path, e,
                          strerror(e));
    snprintf(R->err, R->errlen, "%s \"%s\" failed (%d: %s)", call, path, e, strerror(e));
    return -1;
}

int conf_read_file(struct conf_reader *R, const char *path, const char *from_file, int from_line,
                   struct conf_node **kids, int *nkids)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EISDIR;
        if (fd >= 0)
            close(fd);
        return file_error(R, from_file, from_line, "open()", path, e);
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    int e = 0;
    while (text && got < (size_t)st.st_size) { /* a file that shrank meanwhile ends early */
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) /* a config cut short by an I/O error must not load */
            e = errno;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!text)
        return conf_oom(R);
    if (e) {
        free(text);
        return file_error(R, from_file, from_line, "read()", path, e);
    }
    const char *fname = conf_strdup(R->A, path);
    int rc = fname ? conf_read_text(R, fname, text, got, kids, nkids) : conf_oom(R);
    free(text);
    return rc;
}

char *conf_path(struct conf_all *A, const char *base, const char *path)
{
    if (path[0] == '/' || !base || !*base)
        return conf_strdup(A, path);
    size_t bl = strlen(base), pl = strlen(path);
    char *p = conf_alloc(A, bl + pl + 2);
    if (!p)
        return NULL;
    memcpy(p, base, bl);
    size_t n = bl;
    if (n && p[n - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, path, pl + 1);
    return p;
}

static int do_include(struct conf_reader *R, struct conf_node *n, struct conf_node **kids,
                      int *nkids)
{
    if (n->nargs != 2)
        return conf_error(R, n->file, n->line,
                          "invalid number of arguments in \"include\" directive");
    if (R->depth >= MAX_INCLUDE_DEPTH)
        return conf_error(R, n->file, n->line, "too deep includes (%d levels)", MAX_INCLUDE_DEPTH);
    char *pat = conf_path(R->A, R->conf_dir, n->args[1]);
    if (!pat)
        return conf_oom(R);
    R->depth++;
    int rc = 0;
    if (!strpbrk(pat, "*?[")) {
        rc = conf_read_file(R, pat, n->file, n->line, kids, nkids);
    } else {
        glob_t g;
        int gr = glob(pat, 0, NULL, &g);
        if (gr != 0 && gr != GLOB_NOMATCH) {
            rc = conf_error(R, n->file, n->line, "glob() \"%s\" failed", pat);
        } else if (gr == 0) {
            for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
                rc = conf_read_file(R, g.gl_pathv[i], n->file, n->line, kids, nkids);
        }
        if (gr == 0)
            globfree(&g);
    }
    R->depth--;
    return rc;
}

/* Reads statements until the block's `}` (inblock) or the end of input. */
static int read_block(struct conf_reader *R, struct lex *L, bool inblock, struct conf_node **kids,
                      int *nkids)
{
    char **args = NULL;
    int nargs = 0;
    for (;;) {
        char *w = NULL;
        enum tok t = lex_next(R, L, &w);
        switch (t) {
        case T_ERR:
            return -1;
        case T_WORD: {
            char **slot = CONF_PUSH(R->A, args, nargs);
            if (!slot)
                return conf_oom(R);
            *slot = w;
            break;
        }
        case T_SEMI:
        case T_LBRACE: {
            if (nargs == 0)
                return conf_error(R, L->file, L->line, "unexpected \"%c\"",
                                  t == T_SEMI ? ';' : '{');
            struct conf_node n = {args, nargs, L->file, L->line, t == T_LBRACE, NULL, 0};
            if (n.block && read_block(R, L, true, &n.kids, &n.nkids) < 0)
                return -1;
            if (!n.block && strcmp(args[0], "include") == 0) {
                if (do_include(R, &n, kids, nkids) < 0)
                    return -1;
            } else {
                struct conf_node *slot = CONF_PUSH(R->A, *kids, *nkids);
                if (!slot)
                    return conf_oom(R);
                *slot = n;
            }
            args = NULL;
            nargs = 0;
            break;
        }
        case T_RBRACE:
            if (nargs > 0 || !inblock)
                return conf_error(R, L->file, L->line, "unexpected \"}\"");
            return 0;
        case T_EOF:
            if (nargs > 0)
                return conf_error(R, L->file, L->line,
                                  "unexpected end of file, expecting \";\" or \"}\"");
            if (inblock)
                return conf_error(R, L->file, L->line, "unexpected end of file, expecting \"}\"");
            return 0;
        }
    }
}

int conf_read_text(struct conf_reader *R, const char *file, const char *text, size_t len,
                   struct conf_node **kids, int *nkids)
{
    struct lex L = {text, text + len, file, 1};
    return read_block(R, &L, false, kids, nkids);
}
