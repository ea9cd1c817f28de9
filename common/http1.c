/* http1: the HTTP/1.1 rules both programs judge with (see http1.h). */
#include "http1.h"

#include <string.h>

/* --- characters ------------------------------------------------------------ */

const bool http1_tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,  ['#'] = true,
    ['$'] = true,         ['%'] = true,         ['&'] = true,         ['\''] = true, ['*'] = true,
    ['+'] = true,         ['-'] = true,         ['.'] = true,         ['^'] = true,  ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

const bool http1_vchar[256] = {['\t'] = true, [' ' ... '~'] = true, [0x80 ... 0xff] = true};

void http1_trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
        (*len)--;
}

bool http1_list_next(const char **p, const char *end, const char **e, size_t *elen)
{
    if (*p >= end)
        return false;
    const char *comma = memchr(*p, ',', (size_t)(end - *p));
    const char *ee = comma ? comma : end;
    *e = *p;
    *elen = (size_t)(ee - *p);
    http1_trim(e, elen);
    *p = comma ? comma + 1 : end;
    return true;
}

bool http1_list_has(const char *list, size_t len, const char *lower)
{
    size_t tl = strlen(lower), el;
    const char *p = list, *e;
    while (http1_list_next(&p, list + len, &e, &el))
        if (http_ieq(e, el, lower, tl))
            return true;
    return false;
}

/* --- the head -------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

int http1_find_head(const char *p, size_t len, const struct http1_limits *lim, size_t *skip,
                    size_t *head_len)
{
    size_t i = 0;
    while (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
        i += 2;
    *skip = i;
    if (i < len && p[i] == '\n')
        return 400;
    const char *s = p + i;
    size_t n = len - i, pos = 0;
    for (;;) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        if (!nl) {
            /* refuse now what no later byte can mend, rather than when the
             * client finishes its head: a CR not before LF, a folded line
             * (a complete head is not scanned for CRs here: the strict
             * scanners see every byte of it anyway) */
            for (const char *cr = s; (cr = memchr(cr, '\r', (size_t)(s + n - cr))) != NULL; cr++)
                if (cr + 1 < s + n && cr[1] != '\n')
                    return 400;
            if (pos > 0 && pos < n && is_ws(s[pos]))
                return 400;
            if (n - pos > lim->line_max + 1)
                return pos == 0 ? 414 : 431;
            if (n > lim->head_max)
                return 431;
            return 0;
        }
        size_t e = (size_t)(nl - s);
        if (e == pos || s[e - 1] != '\r')
            return 400; /* bare LF */
        size_t ll = e - 1 - pos;
        if (ll == 0) {
            if (pos == 0)
                return 400; /* cannot happen: empty lines were skipped */
            if (e + 1 > lim->head_max)
                return 431;
            *head_len = e + 1;
            return 1;
        }
        if (pos > 0 && is_ws(s[pos]))
            return 400; /* obs-fold */
        if (ll > lim->line_max)
            return pos == 0 ? 414 : 431;
        pos = e + 1;
        if (pos > lim->head_max)
            return 431;
    }
}

int http1_scan_fields(const char *p, const char *end, const struct http1_limits *lim, int *nfields,
                      const char **why)
{
    int n = 0;
    while (p < end) {
        if (p[0] == '\r') {
            if (p + 2 == end && p[1] == '\n')
                break; /* the empty line ending the head */
            *why = "bare CR";
            return 400;
        }
        if (is_ws(*p)) {
            *why = "obs-fold (line starting with whitespace)";
            return 400;
        }
        const char *q = p;
        while (q < end && http1_tchar[(unsigned char)*q])
            q++;
        if (q == p) {
            *why = "empty or invalid header name";
            return 400;
        }
        if (q >= end || *q != ':') {
            *why = "invalid character in header name (or whitespace before colon)";
            return 400;
        }
        q++;
        while (q < end && http1_vchar[(unsigned char)*q])
            q++;
        if (q < end && *q != '\r') {
            *why = "invalid character in header value";
            return 400;
        }
        if (q + 1 >= end || q[1] != '\n') {
            *why = "bare CR";
            return 400;
        }
        p = q + 2;
        if (++n > lim->fields_max) {
            *why = "too many header fields";
            return 431;
        }
    }
    *nfields = n;
    return 0;
}

int http1_request_line(const char *p, size_t len, struct http1_reqline *rl, const char **why)
{
    const char *end = p + len, *q = p;
    while (q < end && http1_tchar[(unsigned char)*q])
        q++;
    if (q == p || q >= end || *q != ' ') {
        *why = "invalid method";
        return 400;
    }
    rl->method = p;
    rl->method_len = (size_t)(q - p);
    const char *t = ++q;
    while (q < end && (unsigned char)*q > 0x20 && (unsigned char)*q != 0x7f)
        q++;
    if (q == t || q >= end || *q != ' ') {
        *why = "invalid request target";
        return 400;
    }
    rl->target = t;
    rl->target_len = (size_t)(q - t);
    q++;
    if (end - q < 10 || memcmp(q, "HTTP/", 5) != 0 || q[5] < '0' || q[5] > '9' || q[6] != '.' ||
        q[7] < '0' || q[7] > '9' || q[8] != '\r' || q[9] != '\n') {
        *why = "invalid HTTP version";
        return 400;
    }
    rl->major = q[5] - '0';
    rl->minor = q[7] - '0';
    rl->len = (size_t)(q + 10 - p);
    if (rl->major == 0) {
        *why = "HTTP/0.x";
        return 400;
    }
    if (rl->major > 1 || rl->minor > 1) {
        *why = "HTTP version not supported";
        return 505;
    }
    return 0;
}

int http1_target(const struct http1_reqline *rl, struct http1_target *t, const char **why)
{
    const char *p = rl->target, *end = p + rl->target_len;
    size_t tl = rl->target_len;
    memset(t, 0, sizeof(*t));
    if (*p == '/') {
        t->form = HTTP1_TARGET_ORIGIN;
        t->path = p;
        t->path_len = tl;
        return 0;
    }
    if (tl == 1 && *p == '*') {
        /* RFC 9112 §3.2.4: server-wide OPTIONS, and SSDP's M-SEARCH, which
         * llhttp's request vectors count as valid; methods are
         * case-sensitive */
        if (!http_method_is(rl->method, rl->method_len, "OPTIONS") &&
            !http_method_is(rl->method, rl->method_len, "M-SEARCH")) {
            *why = "* target without OPTIONS";
            return 400;
        }
        t->form = HTTP1_TARGET_ASTERISK;
        t->path = p;
        t->path_len = 1;
        return 0;
    }
    size_t sl;
    if (tl > 7 && HTTP_IEQ(p, 7, "http://"))
        sl = 7;
    else if (tl > 8 && HTTP_IEQ(p, 8, "https://"))
        sl = 8;
    else {
        *why = "invalid request target";
        return 400;
    }
    const char *a = p + sl, *ae = a;
    while (ae < end && *ae != '/' && *ae != '?' && *ae != '#')
        ae++;
    const char *at = memchr(a, '@', (size_t)(ae - a));
    if (at)
        a = at + 1; /* userinfo: never the host */
    if (ae == a) {
        *why = "empty authority";
        return 400;
    }
    t->form = HTTP1_TARGET_ABSOLUTE;
    t->authority = a;
    t->authority_len = (size_t)(ae - a);
    t->path = ae;
    t->path_len = (size_t)(end - ae);
    return 0;
}

/* bytes a host never has: controls, space, DEL, / \ @ ? # */
static const bool host_bad[256] = {
    [0 ... 0x20] = true, [0x7f] = true, ['/'] = true, ['\\'] = true,
    ['@'] = true,        ['?'] = true,  ['#'] = true,
};

int http1_host(const char *h, size_t len, size_t *name_len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (host_bad[c] || (c == '.' && i + 1 < len && h[i + 1] == '.'))
            return -1;
    }
    if (len > 0 && h[0] == '.')
        return -1;
    size_t hl = len;
    if (hl && h[0] == '[') {
        const char *rb = memchr(h, ']', hl);
        if (!rb)
            return -1;
        size_t rl = (size_t)(rb - h) + 1;
        if (rl < hl && h[rl] != ':')
            return -1;
        hl = rl;
    } else {
        const char *colon = memchr(h, ':', hl);
        if (colon)
            hl = (size_t)(colon - h);
    }
    while (hl && h[hl - 1] == '.')
        hl--;
    *name_len = hl;
    return 0;
}

void http1_framing_init(struct http1_framing *f)
{
    memset(f, 0, sizeof(*f));
    f->content_length = -1;
}

int http1_content_length(const char *v, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

/* One Transfer-Encoding value: a list of codings, chunked last and once
 * across all the fields.  0, 400 or 501. */
static int parse_te(struct http1_framing *f, const char *v, size_t vl, const char **why)
{
    static const char *const known[] = {"gzip", "x-gzip", "deflate", "compress", "x-compress"};
    if (vl == 0) {
        *why = "empty Transfer-Encoding";
        return 400;
    }
    const char *p = v, *e;
    size_t el;
    /* codings are forwarded as one span of the head (the proxy's
     * Transfer-Encoding upstream): a span from one field into another would
     * carry the field lines between them, so codings come in one field */
    bool earlier = f->codings != NULL;
    while (http1_list_next(&p, v + vl, &e, &el)) {
        if (el == 0)
            continue;
        if (f->chunked) {
            *why = "chunked is not the final transfer coding";
            return 400;
        }
        for (size_t k = 0; k < el; k++)
            if (!http1_tchar[(unsigned char)e[k]] && e[k] != ';' && e[k] != '=' && e[k] != ' ') {
                *why = "invalid Transfer-Encoding";
                return 400;
            }
        if (HTTP_IEQ(e, el, "chunked")) {
            f->chunked = true;
            continue;
        }
        if (HTTP_IEQ(e, el, "identity"))
            continue;
        bool ok = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (http_ieq(e, el, known[k], strlen(known[k])))
                ok = true;
        if (!ok) {
            *why = "unknown transfer coding";
            return 501;
        }
        if (earlier) {
            *why = "transfer codings in several Transfer-Encoding fields";
            return 400;
        }
        if (!f->codings) {
            f->codings = e;
            f->codings_len = el;
        } else {
            f->codings_len = (size_t)(e + el - f->codings);
        }
    }
    return 0;
}

int http1_framing_field(struct http1_framing *f, const char *name, size_t name_len,
                        const char *value, size_t value_len, const char **why)
{
    /* by length first: this runs for every field of every request */
    switch (name_len) {
    case 4:
        if (HTTP_IEQ(name, 4, "host")) {
            f->nhost++;
            f->host = value;
            f->host_len = value_len;
        }
        break;
    case 6:
        if (HTTP_IEQ(name, 6, "expect") && HTTP_IEQ(value, value_len, "100-continue"))
            f->expect_continue = true;
        break;
    case 7:
        if (HTTP_IEQ(name, 7, "upgrade"))
            f->upgrade = true;
        break;
    case 10:
        if (HTTP_IEQ(name, 10, "connection")) {
            if (http1_list_has(value, value_len, "close"))
                f->conn_close = true;
            if (http1_list_has(value, value_len, "keep-alive"))
                f->conn_keepalive = true;
        }
        break;
    case 12:
        if (HTTP_IEQ(name, 12, "content-type"))
            f->nctype++;
        break;
    case 14:
        if (HTTP_IEQ(name, 14, "content-length")) {
            f->ncl++;
            if (http1_content_length(value, value_len, &f->content_length) < 0) {
                *why = "invalid Content-Length";
                return 400;
            }
        }
        break;
    case 17:
        if (HTTP_IEQ(name, 17, "transfer-encoding")) {
            f->nte++;
            return parse_te(f, value, value_len, why);
        }
        break;
    }
    return 0;
}

int http1_framing_end(struct http1_framing *f, int minor, const struct http1_target *t,
                      bool *keepalive, const char **host, size_t *host_len, const char **why)
{
    if (f->ncl > 1) {
        *why = "several Content-Length fields";
        return 400;
    }
    if (f->nctype > 1) {
        *why = "several Content-Type fields";
        return 400;
    }
    if (f->nte) {
        if (f->ncl) {
            *why = "Content-Length with Transfer-Encoding";
            return 400;
        }
        if (minor == 0) {
            *why = "Transfer-Encoding in HTTP/1.0";
            return 400;
        }
        if (!f->chunked) {
            *why = "Transfer-Encoding without chunked";
            return 400;
        }
        f->content_length = -1;
    }
    if (f->nhost > 1) {
        *why = "several Host fields";
        return 400;
    }
    if (f->nhost == 0 && minor >= 1) {
        *why = "HTTP/1.1 request without Host";
        return 400;
    }
    /* RFC 9112 §3.2.2: an absolute-form target's authority overrides Host */
    if (t && t->form == HTTP1_TARGET_ABSOLUTE) {
        if (http1_host(t->authority, t->authority_len, host_len) < 0) {
            *why = "invalid host in request target";
            return 400;
        }
        *host = t->authority;
    } else if (f->host) {
        if (http1_host(f->host, f->host_len, host_len) < 0) {
            *why = "invalid Host";
            return 400;
        }
        *host = f->host;
    } else {
        *host = "";
        *host_len = 0;
    }
    *keepalive = minor >= 1 ? !f->conn_close : (f->conn_keepalive && !f->conn_close);
    return 0;
}

bool http1_forbidden_trailer(const char *name, size_t len)
{
    static const char *const bad[] = {
        "content-length",
        "transfer-encoding",
        "host",
        "trailer",
        "te",
        "content-type",
        "content-encoding",
        "content-range",
        "authorization",
        "expect",
        "range",
        "cookie",
        "connection",
        "upgrade",
        "keep-alive",
        "max-forwards",
        "proxy-authorization",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (http_ieq(name, len, bad[i], strlen(bad[i])))
            return true;
    return false;
}

/* --- chunked bodies ---------------------------------------------------------- */

#define CK_LINE_MAX    4096
#define CK_TRAILER_MAX 16384

void http1_chunked_init(struct http1_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->st = HTTP1_CK_SIZE;
}

/* The byte classes of chunk extensions (disjoint: ';', '=' and '"' are not
 * tchars). */
enum ext_class { X_TCHAR, X_WS, X_SEMI, X_EQ, X_QUOTE, X_CR, X_OTHER, X_N };

static enum ext_class ext_class(unsigned char ch)
{
    if (http1_tchar[ch])
        return X_TCHAR;
    switch (ch) {
    case ' ':
    case '\t':
        return X_WS;
    case ';':
        return X_SEMI;
    case '=':
        return X_EQ;
    case '"':
        return X_QUOTE;
    case '\r':
        return X_CR;
    default:
        return X_OTHER;
    }
}

/* RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token /
 * quoted-string ) ] ), read without whitespace after the size or before
 * CR.  The next state for each extension state (outside quotes) and class;
 * HTTP1_CK_SIZE (0, never a next state here) refuses the byte. */
_Static_assert(HTTP1_CK_SIZE == 0, "ext_next's empty entries must mean refusal");
static const unsigned char ext_next[HTTP1_CK_EXT_END_WS + 1][X_N] = {
    [HTTP1_CK_EXT_NAME_BWS] = {[X_TCHAR] = HTTP1_CK_EXT_NAME, [X_WS] = HTTP1_CK_EXT_NAME_BWS},
    [HTTP1_CK_EXT_NAME] = {[X_TCHAR] = HTTP1_CK_EXT_NAME,
                           [X_WS] = HTTP1_CK_EXT_NAME_END,
                           [X_SEMI] = HTTP1_CK_EXT_NAME_BWS,
                           [X_EQ] = HTTP1_CK_EXT_VAL_BWS,
                           [X_CR] = HTTP1_CK_SIZE_LF},
    [HTTP1_CK_EXT_NAME_END] = {[X_WS] = HTTP1_CK_EXT_NAME_END,
                               [X_SEMI] = HTTP1_CK_EXT_NAME_BWS,
                               [X_EQ] = HTTP1_CK_EXT_VAL_BWS},
    [HTTP1_CK_EXT_VAL_BWS] = {[X_TCHAR] = HTTP1_CK_EXT_TOKEN,
                              [X_WS] = HTTP1_CK_EXT_VAL_BWS,
                              [X_QUOTE] = HTTP1_CK_EXT_QUOTE},
    [HTTP1_CK_EXT_TOKEN] = {[X_TCHAR] = HTTP1_CK_EXT_TOKEN,
                            [X_WS] = HTTP1_CK_EXT_END_WS,
                            [X_SEMI] = HTTP1_CK_EXT_NAME_BWS,
                            [X_CR] = HTTP1_CK_SIZE_LF},
    [HTTP1_CK_EXT_END] =
        {[X_WS] = HTTP1_CK_EXT_END_WS, [X_SEMI] = HTTP1_CK_EXT_NAME_BWS, [X_CR] = HTTP1_CK_SIZE_LF},
    [HTTP1_CK_EXT_END_WS] = {[X_WS] = HTTP1_CK_EXT_END_WS, [X_SEMI] = HTTP1_CK_EXT_NAME_BWS},
};

long http1_chunked_frame(struct http1_chunked *c, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)p[i];
        if (c->st == HTTP1_CK_DATA || c->st == HTTP1_CK_DONE)
            return (long)i;
        if (++c->line_len > (c->last ? CK_TRAILER_MAX : CK_LINE_MAX))
            return -1;
        switch (c->st) {
        case HTTP1_CK_SIZE: {
            int v = http1_hexval(ch);
            if (v >= 0) {
                if (c->digits >= 15)
                    return -1;
                c->remaining = c->remaining * 16 + (unsigned)v;
                c->digits++;
            } else if (c->digits == 0) {
                return -1;
            } else if (ch == ';') {
                c->st = HTTP1_CK_EXT_NAME_BWS;
            } else if (ch == '\r') {
                c->st = HTTP1_CK_SIZE_LF;
            } else {
                return -1; /* whitespace after the size included */
            }
            break;
        }
        case HTTP1_CK_EXT_NAME_BWS:
        case HTTP1_CK_EXT_NAME:
        case HTTP1_CK_EXT_NAME_END:
        case HTTP1_CK_EXT_VAL_BWS:
        case HTTP1_CK_EXT_TOKEN:
        case HTTP1_CK_EXT_END:
        case HTTP1_CK_EXT_END_WS: {
            unsigned char next = ext_next[c->st][ext_class(ch)];
            if (next == HTTP1_CK_SIZE)
                return -1;
            c->st = (enum http1_ck_state)next;
            break;
        }
        case HTTP1_CK_EXT_QUOTE:
            if (ch == '"')
                c->st = HTTP1_CK_EXT_END;
            else if (ch == '\\')
                c->st = HTTP1_CK_EXT_QESC;
            else if (!http1_vchar[ch])
                return -1;
            break;
        case HTTP1_CK_EXT_QESC:
            if (!http1_vchar[ch])
                return -1;
            c->st = HTTP1_CK_EXT_QUOTE;
            break;
        case HTTP1_CK_SIZE_LF:
            if (ch != '\n')
                return -1;
            c->line_len = 0;
            if (c->remaining == 0) {
                c->last = true;
                c->st = HTTP1_CK_TRAILER;
            } else {
                c->st = HTTP1_CK_DATA;
            }
            break;
        case HTTP1_CK_DATA_CR:
            if (ch != '\r')
                return -1;
            c->st = HTTP1_CK_DATA_LF;
            break;
        case HTTP1_CK_DATA_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP1_CK_SIZE;
            c->digits = 0;
            c->remaining = 0;
            c->line_len = 0;
            break;
        case HTTP1_CK_TRAILER:
            if (ch == '\r') {
                c->st = HTTP1_CK_END_LF;
                break;
            }
            c->st = HTTP1_CK_TR_LINE;
            c->tr_in_name = true;
            c->tr_name_len = 0;
            /* this byte starts the field name */
            /* FALLTHROUGH */
        case HTTP1_CK_TR_LINE:
            if (c->tr_in_name) {
                if (http1_tchar[ch]) {
                    if (c->tr_name_len < sizeof(c->tr_name))
                        c->tr_name[c->tr_name_len] = (char)ch;
                    c->tr_name_len++;
                } else if (ch == ':' && c->tr_name_len > 0) {
                    /* no forbidden name is longer than tr_name */
                    size_t nl = c->tr_name_len;
                    if (nl <= sizeof(c->tr_name) && http1_forbidden_trailer(c->tr_name, nl))
                        return -1;
                    c->tr_in_name = false;
                } else {
                    return -1;
                }
            } else if (ch == '\r') {
                c->st = HTTP1_CK_TR_LF;
            } else if (!http1_vchar[ch]) {
                return -1;
            }
            break;
        case HTTP1_CK_TR_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP1_CK_TRAILER;
            break;
        case HTTP1_CK_END_LF:
            if (ch != '\n')
                return -1;
            c->st = HTTP1_CK_DONE;
            return (long)(i + 1);
        default:
            return -1;
        }
        i++;
    }
    return (long)i;
}

void http1_chunked_consumed(struct http1_chunked *c, size_t n)
{
    c->remaining -= n;
    c->total += n;
    if (c->remaining == 0)
        c->st = HTTP1_CK_DATA_CR;
    c->line_len = 0;
}

/* --- responses --------------------------------------------------------------- */

const char *http1_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Moved Temporarily";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Not Allowed";
    case 408:
        return "Request Time-out";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Large";
    case 416:
        return "Requested Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Temporarily Unavailable";
    case 504:
        return "Gateway Time-out";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300   ? "OK"
               : status < 400 ? "Redirect"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}
