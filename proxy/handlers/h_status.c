/* h_status: upstream state as JSON (see h_status.h). */
#include "h_status.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "handler.h"
#include "request.h"
#include "upstream.h"

static json_t *peer_json(const struct up_group *g, int i)
{
    struct up_peer_info pi;
    up_peer_info(g, i, &pi);
    json_t *hc = json_pack("{s:I,s:I}", "checks", (json_int_t)pi.hc_checks, "fails",
                           (json_int_t)pi.hc_fails);
    if (!hc)
        return NULL;
    return json_pack("{s:s,s:b,s:s,s:i,s:i,s:i,s:I,s:I,s:i,s:o,s:o}", "server", pi.name, "backup",
                     pi.backup, "state", up_state_name(pi.state), "weight", pi.weight,
                     "effective_weight", pi.eff_weight, "active", pi.active, "requests",
                     (json_int_t)pi.requests, "failures", (json_int_t)pi.failures, "fails",
                     pi.fails, "response_time_avg",
                     pi.resp_avg >= 0 ? json_real(pi.resp_avg) : json_null(), "health_checks", hc);
}

static json_t *upstream_json(const struct cf_upstream *u)
{
    json_t *args = json_array(), *peers = json_array();
    if (!args || !peers)
        goto fail;
    for (int i = 0; i < u->nlb_args; i++)
        if (json_array_append_new(args, json_string(u->lb_args[i])) < 0)
            goto fail;
    const struct up_group *g = u->rt;
    for (int i = 0; g && i < up_npeers(g); i++) {
        json_t *p = peer_json(g, i);
        if (!p || json_array_append_new(peers, p) < 0)
            goto fail;
    }
    return json_pack("{s:s,s:o,s:b,s:o}", "method", u->lb_name ? u->lb_name : "round_robin", "args",
                     args, "implicit", u->implicit, "peers", peers);
fail:
    json_decref(args);
    json_decref(peers);
    return NULL;
}

int status_render(const struct cf_main *cf, struct buf *out)
{
    json_t *ups = json_object();
    if (!ups)
        return -1;
    for (int i = 0; i < cf->nupstreams; i++) {
        const struct cf_upstream *u = cf->upstreams[i];
        json_t *j = upstream_json(u);
        if (!j || json_object_set_new(ups, u->name, j) < 0) {
            json_decref(ups);
            return -1;
        }
    }
    json_t *doc = json_pack("{s:i,s:o}", "pid", (int)getpid(), "upstreams", ups);
    if (!doc)
        return -1;
    char *s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        return -1;
    int rc = buf_puts(out, s) < 0 || buf_puts(out, "\n") < 0 ? -1 : 0;
    free(s);
    return rc;
}

static void status_start(struct request *q)
{
    if (!request_body_discard(q))
        return;
    struct buf doc = BUF_INIT;
    if (status_render(request_conf(q), &doc) < 0)
        request_fail(q, 500);
    else
        request_send_simple(q, 200, "application/json", doc.data, doc.len, NULL);
    buf_free(&doc);
}

static const struct h_ops status_ops = {
    .name = "status",
    .start = status_start,
};

int h_status_init(void)
{
    return h_register(&status_ops);
}
