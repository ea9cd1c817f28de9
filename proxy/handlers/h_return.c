/* h_return: `return` (see h_return.h). */
#include "h_return.h"

#include "handler.h"
#include "request.h"
#include "vars.h"

static void return_start(struct request *q)
{
    if (!request_body_discard(q))
        return;
    const struct cf_loc *loc = q->r.loc;
    int code = loc->return_code;
    if (code == 444) {
        request_close_unanswered(q, 444);
        return;
    }
    struct buf text = BUF_INIT;
    if (loc->return_text && tmpl_eval(loc->return_text, &q->r, &text, CF_ESC_NONE) < 0) {
        buf_free(&text);
        request_fail(q, 500);
        return;
    }
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
        request_page(q, code, text.len ? buf_cstr(&text) : NULL);
    } else if (loc->return_text) {
        request_send_simple(q, code, "text/plain", text.data ? text.data : "", text.len, NULL);
    } else if (code >= 400) {
        request_page(q, code, NULL);
    } else {
        request_send_simple(q, code, NULL, "", 0, NULL);
    }
    buf_free(&text);
}

static const struct h_ops return_ops = {
    .name = "return",
    .start = return_start,
};

int h_return_init(void)
{
    return h_register(&return_ops);
}
