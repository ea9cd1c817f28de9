/* http1: the one HTTP/1.1 codec of the proxy and the gateway: finding a
 * head, the strict framing rules, the chunked decoder, reason phrases and
 * (in httpmethod.h) the method table.
 *
 * Both programs promise smuggling-proof framing, so both judge a request
 * with these rules and nothing else: bare CR or LF, obs-fold, empty or
 * non-token field names, control characters in values, a malformed request
 * line, Content-Length beside Transfer-Encoding, several or malformed
 * Content-Length fields, chunked not last or twice, unknown transfer
 * codings, Transfer-Encoding in HTTP/1.0, a missing, repeated or invalid
 * Host.  What differs between the programs is what they are given: the
 * limits (struct http1_limits), and what each does with a transfer coding
 * before chunked (the proxy forwards it, the gateway refuses it: 501).
 *
 * Everything here works on borrowed bytes and keeps no pointer into them
 * after returning, except the spans it writes into the caller's structs,
 * which point into the caller's bytes.  Nothing allocates. */
#ifndef CHAIN_HTTP1_H
#define CHAIN_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpmethod.h"

/* --- characters ------------------------------------------------------------ */

/* RFC 9110 tchar: ALPHA DIGIT and !#$%&'*+-.^_`|~ (a table: every byte of
 * every method and field name is asked). */
extern const bool http1_tchar[256];
/* field-vchar, obs-text, SP and HTAB: what a field value may hold. */
extern const bool http1_vchar[256];

static inline bool http1_is_tchar(unsigned char c)
{
    return http1_tchar[c];
}

static inline bool http1_is_vchar(unsigned char c)
{
    return http1_vchar[c];
}

/* The value of hex digit c, or -1. */
static inline int http1_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* --- the head -------------------------------------------------------------- */

/* What each program allows a head.  The proxy takes nginx's
 * large_client_header_buffers (line = size, head = number * size) and 128
 * fields; the gateway uWSGI's buffer-size for both sizes and 256 fields. */
struct http1_limits {
    size_t line_max; /* the start line and each field line, without CRLF */
    size_t head_max; /* the whole head, final CRLF CRLF included */
    int fields_max;  /* field lines; more: 431 */
};

/* Looks for the end of a head (request or response) at the start of `p`
 * (len bytes, borrowed).  Empty lines before the start line are skipped
 * (RFC 9112 §2.2): *skip says how many bytes of them.  Every line must end
 * in CRLF and no line after the first may start with whitespace (obs-fold).
 * While the head is incomplete, a CR not followed by LF is refused too, so
 * that a client cannot hold a doomed head open; in a complete head it is
 * left to http1_request_line and http1_scan_fields, which see every byte.
 * Returns 1 with *head_len (counted after the skipped bytes, through the
 * final CRLF CRLF) when a whole head is there, 0 when more bytes are
 * needed, or the status the bytes can never escape: 414 (start line over
 * line_max), 431 (a field line over line_max, or the head over head_max),
 * 400. */
int http1_find_head(const char *p, size_t len, const struct http1_limits *lim, size_t *skip,
                    size_t *head_len);

/* Checks the field lines from `p` (just after the start line's CRLF) to
 * `end` (just after the empty line's CRLF): each a token name, ':', a value
 * of http1_vchar bytes, CRLF.  Returns 0 with *nfields, 431 when there are
 * more than lim->fields_max of them, or 400; *why says why. */
int http1_scan_fields(const char *p, const char *end, const struct http1_limits *lim, int *nfields,
                      const char **why);

/* A request line's parts (spans into the head). */
struct http1_reqline {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int major, minor;
    size_t len; /* bytes through the line's CRLF */
};

/* Checks the request line at the start of `p` (len bytes: at least the whole
 * line): method SP target SP HTTP/d.d CRLF, a token method, a target of
 * visible ASCII.  Returns 0, 400, or 505 (HTTP/2 and later, and HTTP/1.2
 * and later, which llhttp 8.1.0 cannot parse); *why says why. */
int http1_request_line(const char *p, size_t len, struct http1_reqline *rl, const char **why);

enum http1_target_form {
    HTTP1_TARGET_ORIGIN,   /* /path?query */
    HTTP1_TARGET_ABSOLUTE, /* http://authority/path?query */
    HTTP1_TARGET_ASTERISK, /* * (OPTIONS and M-SEARCH only) */
};

/* A request target's form and parts (spans into the target). */
struct http1_target {
    enum http1_target_form form;
    const char *authority; /* absolute-form: host[:port], userinfo dropped */
    size_t authority_len;
    const char *path; /* from the path on (query included); may be empty */
    size_t path_len;
};

/* Classifies the target of `rl`: origin-form, absolute-form with an http or
 * https scheme and a non-empty authority, or asterisk-form for OPTIONS (and
 * M-SEARCH).  Authority-form (CONNECT's) is not one: the caller refuses
 * CONNECT first.  Returns 0 or 400; *why says why. */
int http1_target(const struct http1_reqline *rl, struct http1_target *t, const char **why);

/* Checks a host[:port] (an authority or a Host value): no controls, space,
 * DEL, / \ @ ? #, no ".." and no leading dot, an IPv6 literal closed and
 * followed by nothing or a port.  Returns 0 with *name_len, the length of
 * the name without port and trailing dots, or -1. */
int http1_host(const char *h, size_t len, size_t *name_len);

/* What the fields of a request say about its framing, filled one field at
 * a time (http1_framing_field), then judged as a whole (http1_framing_end).
 * Spans point into the caller's field values. */
struct http1_framing {
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding ends in chunked */
    const char *codings;    /* codings before chunked ("gzip"), NULL if none */
    size_t codings_len;
    const char *host; /* the Host value, NULL when absent */
    size_t host_len;
    bool expect_continue; /* Expect: 100-continue */
    bool upgrade;         /* an Upgrade field */
    bool conn_close;      /* Connection lists close */
    bool conn_keepalive;  /* Connection lists keep-alive */
    int ncl, nte, nhost, nctype;
};

void http1_framing_init(struct http1_framing *f);

/* Parses a Content-Length value: 1 to 18 digits and nothing else (no
 * sign, no list, no whitespace).  0 with *out, or -1. */
int http1_content_length(const char *v, size_t len, int64_t *out);

/* Takes one field (name and value borrowed; the value without surrounding
 * whitespace).  Returns 0, 400 (malformed Content-Length, an empty
 * Transfer-Encoding or one whose codings are not tokens, a coding after
 * chunked, codings in more than one Transfer-Encoding field: f->codings
 * spans one field's value) or 501 (a transfer coding that is not gzip, x-gzip, deflate,
 * compress, x-compress or chunked; identity is skipped); *why says why. */
int http1_framing_field(struct http1_framing *f, const char *name, size_t name_len,
                        const char *value, size_t value_len, const char **why);

/* Judges the fields as a whole for a request of HTTP/1.`minor`: at most one
 * Content-Length, Content-Type and Host, not both Content-Length and
 * Transfer-Encoding, no Transfer-Encoding in HTTP/1.0 or without chunked
 * last, a Host in HTTP/1.1, and the host the request names valid (the
 * target's authority when `t` is absolute-form, else the Host value).
 * Returns 0 with *keepalive (persistence per RFC 9112 §9.3) and *host,
 * *host_len (the host name without port and trailing dots, "" when none),
 * or 400; *why says why. */
int http1_framing_end(struct http1_framing *f, int minor, const struct http1_target *t,
                      bool *keepalive, const char **host, size_t *host_len, const char **why);

/* Takes the next element of the comma-separated list [*p, end) (a field
 * value, borrowed): *e and *elen span it without surrounding SP and HTAB
 * (it may be empty), and *p moves past its comma.  False when the list is
 * over. */
bool http1_list_next(const char **p, const char *end, const char **e, size_t *elen);

/* Does the comma-separated `list` (len bytes) hold the token `lower` (lower
 * case), in any case? */
bool http1_list_has(const char *list, size_t len, const char *lower);

/* Strips leading and trailing SP and HTAB from [*p, *p + *len). */
void http1_trim(const char **p, size_t *len);

/* Is `name` a field a trailer must not carry (RFC 9110 §6.5.1: framing,
 * routing, request modifiers, authentication, content metadata)? */
bool http1_forbidden_trailer(const char *name, size_t len);

/* --- chunked bodies ---------------------------------------------------------- */

/* The incremental chunked decoder.  The caller owns the bytes and feeds
 * them in any pieces: while http1_chunked_in_data() is true it moves up to
 * c->remaining data bytes itself and reports them with
 * http1_chunked_consumed(); otherwise it shows the decoder framing bytes
 * with http1_chunked_frame().  Chunk sizes take at most 15 hex digits,
 * extensions follow RFC 9112 §7.1.1 (whitespace only after ';', around
 * '=' and before a further ';': never after the size or before CR), a size
 * line at most 4 KiB, the trailer section at most 16 KiB, and a
 * trailer naming a forbidden field is an error. */
enum http1_ck_state {
    HTTP1_CK_SIZE,         /* hex digits of a chunk size */
    HTTP1_CK_EXT_NAME_BWS, /* after ';': whitespace, then a name */
    HTTP1_CK_EXT_NAME,     /* inside an extension name */
    HTTP1_CK_EXT_NAME_END, /* whitespace after a name: '=' or ';' must follow */
    HTTP1_CK_EXT_VAL_BWS,  /* after '=': whitespace, then a value */
    HTTP1_CK_EXT_TOKEN,    /* inside a token value */
    HTTP1_CK_EXT_QUOTE,    /* inside a quoted value */
    HTTP1_CK_EXT_QESC,     /* after a backslash inside quotes */
    HTTP1_CK_EXT_END,      /* after a quoted value: ';', CR or whitespace */
    HTTP1_CK_EXT_END_WS,   /* whitespace after a value: ';' must follow */
    HTTP1_CK_SIZE_LF,      /* CR seen after the size line, LF expected */
    HTTP1_CK_DATA,         /* chunk data (remaining > 0) */
    HTTP1_CK_DATA_CR,      /* CR expected after data */
    HTTP1_CK_DATA_LF,      /* LF expected after data */
    HTTP1_CK_TRAILER,      /* at the start of a trailer line (or the final CRLF) */
    HTTP1_CK_TR_LINE,      /* inside a trailer line */
    HTTP1_CK_TR_LF,        /* CR seen in a trailer line, LF expected */
    HTTP1_CK_END_LF,       /* CR of the final empty line seen, LF expected */
    HTTP1_CK_DONE,         /* the last chunk and trailers are over */
};

struct http1_chunked {
    enum http1_ck_state st;
    uint64_t remaining; /* data bytes left in the current chunk */
    int digits;         /* size digits seen */
    bool last;          /* size 0 seen */
    size_t line_len;    /* bytes in the current size line, or in the trailers */
    char tr_name[24];   /* start of the current trailer field name */
    size_t tr_name_len;
    bool tr_in_name;
    uint64_t total; /* data bytes so far */
};

void http1_chunked_init(struct http1_chunked *c);

static inline bool http1_chunked_in_data(const struct http1_chunked *c)
{
    return c->st == HTTP1_CK_DATA;
}

static inline bool http1_chunked_done(const struct http1_chunked *c)
{
    return c->st == HTTP1_CK_DONE;
}

/* Consumes framing bytes from p (len > 0, borrowed).  Stops at the first
 * data byte or just after the body's end.  Returns the bytes consumed (0
 * only when already in data or done), or -1 on a framing error. */
long http1_chunked_frame(struct http1_chunked *c, const char *p, size_t len);

/* The caller moved n (<= remaining) data bytes. */
void http1_chunked_consumed(struct http1_chunked *c, size_t n);

/* --- responses --------------------------------------------------------------- */

/* The reason phrase both programs send with `status` (nginx 1.22's
 * phrases, which the proxy shows side by side with nginx); for a status
 * without one, a phrase for its class. */
const char *http1_reason(int status);

#endif
