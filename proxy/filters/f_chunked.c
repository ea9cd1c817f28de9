/* f_chunked: chunked framing (see f_chunked.h). */
#include "f_chunked.h"

#include "filter.h"
#include "request.h"

static int chunked_header(struct request *q)
{
    q->chunked_out =
        q->content_length < 0 && q->has_body && q->r.http_major == 1 && q->r.http_minor >= 1;
    return 0;
}

static int chunked_body(struct request *q, const struct f_piece *pc, int self)
{
    if (!q->chunked_out || pc->n == 0)
        return filter_body_pass(q, pc, self + 1);
    char t[FMT_U64_MAX + 2];
    size_t k = fmt_hex(t, pc->n);
    t[k++] = '\r';
    t[k++] = '\n';
    struct f_piece fr = F_PIECE_INIT;
    fr.p = t;
    fr.n = k;
    fr.framing = true;
    if (filter_body_pass(q, &fr, self + 1) < 0 || filter_body_pass(q, pc, self + 1) < 0)
        return -1;
    fr.p = "\r\n";
    fr.n = 2;
    return filter_body_pass(q, &fr, self + 1);
}

static int chunked_end(struct request *q, int self)
{
    if (q->chunked_out) {
        struct f_piece fr = F_PIECE_INIT;
        fr.p = "0\r\n\r\n";
        fr.n = 5;
        fr.framing = true;
        q->chunked_out = false;
        if (filter_body_pass(q, &fr, self + 1) < 0)
            return -1;
        q->r.bytes_sent += 5; /* the last chunk counts in $bytes_sent, as nginx's */
    }
    return filter_end_pass(q, self + 1);
}

int f_chunked_init(void)
{
    return filter_add("chunked", chunked_header, chunked_body, chunked_end);
}
