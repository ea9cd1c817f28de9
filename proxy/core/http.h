/* http: HTTP/1.x message heads (llhttp glue) and the strict framing checks
 * Debian's llhttp 8.1.0 lacks, plus a strict chunked-body decoder.
 *
 * The connection finds a complete head in its input (http_find_head), copies
 * it into the parser's own buffer and parses it (http_parse_request or
 * http_parse_response).  Before llhttp sees a head, a strict scanner refuses
 * every shape used for request smuggling that llhttp 8.1.0 lets through: bare
 * CR or LF, NUL and other controls, obs-fold, whitespace before a colon,
 * empty or non-token header names.  After llhttp, the framing headers are
 * judged here (Content-Length, Transfer-Encoding, Host, Connection).  The
 * method is checked here too: any RFC 9110 token is one, while llhttp 8.1.0
 * knows only its table (see http_parse_request for how it is given the
 * others).
 *
 * Bodies are not given to llhttp: Content-Length bodies are counted by the
 * caller and chunked bodies go through http_chunked, which is stricter than
 * llhttp 8.1.0 on chunk sizes, extensions and trailers.  Nothing here
 * allocates per request once the buffers have grown. */
#ifndef PROXY_HTTP_H
#define PROXY_HTTP_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "httpmethod.h"
#include "req.h"

#define HTTP_MAX_HEADERS 128 /* more fields than this: 431 */

struct http_limits {
    size_t line_max; /* request line and each header line (large_client_header_buffers size) */
    size_t head_max; /* the whole head (number * size) */
};

/* Looks for the end of a head at the start of `p` (len bytes, borrowed).
 * Empty lines before a request line are skipped (RFC 9112 §2.2): *skip says
 * how many bytes of them to drop first.  Returns 1 with *head_len (counted
 * after the skipped bytes, including the final CRLF CRLF) when a whole head is
 * there, 0 when more bytes are needed, or an HTTP status when the bytes can
 * never become a valid head: 414 (request line too long), 431 (a header line
 * or the head too long), 400 (a bare LF or other garbage). */
int http_find_head(const char *p, size_t len, const struct http_limits *lim, size_t *skip,
                   size_t *head_len);

/* A request head parser, one per client connection. */
struct http_reqp {
    llhttp_t p;
    struct buf head;         /* copy of the current head; req strings point here */
    struct buf uri;          /* $uri (decoded, normalised) */
    struct req_header *hdrs; /* storage behind req.headers */
    int hcap;
    /* what the head says beyond struct req */
    bool expect_continue;      /* Expect: 100-continue */
    bool upgrade;              /* Upgrade header present (not supported: ignored) */
    struct req_str te_codings; /* codings before "chunked" ("gzip"), forwarded upstream */
    struct req_str authority;  /* host[:port] of an absolute-form target */
    const char *why;           /* reason of the last refusal, for the error log */
    struct req *r;             /* the request being filled (borrowed during a parse) */
};

void http_reqp_init(struct http_reqp *hp);
void http_reqp_free(struct http_reqp *hp);

/* Parses the head `head` (len bytes from http_find_head, borrowed; copied
 * into hp->head) into `r` (which must be freshly reset; its strings then point
 * into hp until the next parse).  Returns 0, or the HTTP status to refuse
 * with: 400 (malformed or hostile framing), 501 (unknown transfer coding),
 * 505 (HTTP major version > 1), 405 (CONNECT); hp->why says why. */
int http_parse_request(struct http_reqp *hp, const char *head, size_t len, struct req *r);

/* A response head parser, one per upstream attempt. */
struct http_resp {
    llhttp_t p;
    struct buf head;         /* copy of the head; strings point here */
    struct req_header *hdrs; /* fields in arrival order */
    int nhdrs, hcap;
    int status;
    int http_major, http_minor;
    int64_t content_length;    /* -1 when absent */
    bool chunked;              /* Transfer-Encoding ends in chunked */
    bool conn_close;           /* Connection: close, or HTTP/1.0 without keep-alive */
    struct req_str connection; /* the Connection value (names more hop-by-hop fields) */
    const char *why;
};

void http_resp_init(struct http_resp *rp);
void http_resp_free(struct http_resp *rp);

/* Parses a response head (from http_find_head with generous limits).
 * Returns 0, or -1 when it is invalid (the proxy answers 502); rp->why says
 * why. */
int http_parse_response(struct http_resp *rp, const char *head, size_t len);

/* Does the response to `method` with this status carry a body? */
bool http_resp_has_body(const struct http_resp *rp, const struct req_str *method);

/* Is `name` a hop-by-hop field (Connection, Keep-Alive, TE, Trailer,
 * Transfer-Encoding, Upgrade, Proxy-Connection), or listed in the
 * Connection value `conn`? */
bool http_hop_by_hop(const char *name, size_t len, const struct req_str *conn);

/* Is `tok` (lower case) one of the comma-separated tokens of `list`, in any
 * case? */
bool http_list_has(const char *list, size_t len, const char *tok);

/* Strict chunked decoder.  The caller owns the bytes: while
 * http_chunked_in_data() is true it moves up to c->remaining body bytes
 * itself and reports them with http_chunked_consumed(); otherwise it shows
 * the decoder contiguous framing bytes with http_chunked_frame(). */
enum http_ck_state {
    HTTP_CK_SIZE,      /* hex digits of a chunk size */
    HTTP_CK_EXT,       /* after ';': chunk extensions up to CR */
    HTTP_CK_EXT_QUOTE, /* inside a quoted extension value */
    HTTP_CK_EXT_QESC,  /* after a backslash inside quotes */
    HTTP_CK_SIZE_LF,   /* CR seen after the size line, LF expected */
    HTTP_CK_DATA,      /* chunk data (remaining > 0) */
    HTTP_CK_DATA_CR,   /* CR expected after data */
    HTTP_CK_DATA_LF,   /* LF expected after data */
    HTTP_CK_TRAILER,   /* at the start of a trailer line (or the final CRLF) */
    HTTP_CK_TR_LINE,   /* inside a trailer line */
    HTTP_CK_TR_LF,     /* CR seen in a trailer line, LF expected */
    HTTP_CK_END_LF,    /* CR of the final empty line seen, LF expected */
    HTTP_CK_DONE,      /* the last chunk and trailers are over */
};

struct http_chunked {
    enum http_ck_state st;
    uint64_t remaining; /* data bytes left in the current chunk */
    int digits;         /* size digits seen */
    int ext_chars;      /* bytes in the current extension (name must be non-empty) */
    bool last;          /* size 0 seen */
    size_t line_len;    /* bytes in the current size or trailer line */
    char tr_name[24];   /* start of the current trailer field name, lowercased */
    size_t tr_name_len;
    bool tr_in_name;
    uint64_t total; /* data bytes so far */
};

void http_chunked_init(struct http_chunked *c);
static inline bool http_chunked_in_data(const struct http_chunked *c)
{
    return c->st == HTTP_CK_DATA;
}
static inline bool http_chunked_done(const struct http_chunked *c)
{
    return c->st == HTTP_CK_DONE;
}
/* Consumes framing bytes from p (len > 0, borrowed).  Stops at the first
 * data byte or at the end of the body.  Returns the bytes consumed (may be
 * 0 only when already in data or done), or -1 on a framing error. */
long http_chunked_frame(struct http_chunked *c, const char *p, size_t len);
/* The caller moved n (<= remaining) data bytes. */
void http_chunked_consumed(struct http_chunked *c, size_t n);

#endif
