/* conf_merge: inheritance and the final layout (see conf_merge.h). */
#include "conf_merge.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf_body.h"
#include "conf_log.h"
#include "handler.h"
#include "conf_proxy.h"
#include "conf_upstream.h"

/* nginx's defaults for what the http level left unset.  0, or -1 with the
 * error written. */
static int set_http_defaults(struct conf_build *b, struct loc_conf *h)
{
    struct cf_loc *l = &h->loc;
#define DEF(F, stmt)                                                                               \
    if (!(h->set & (1ULL << (F))))                                                                 \
        stmt;
    DEF(F_HTTP_VERSION, l->proxy_http_version = 10)
    DEF(F_CONNECT_TO, l->connect_timeout_ms = 60000)
    DEF(F_PSEND_TO, l->proxy_send_timeout_ms = 60000)
    DEF(F_READ_TO, l->read_timeout_ms = 60000)
    DEF(F_BUFFERING, l->buffering = true)
    DEF(F_BUF_SIZE, l->buffer_size = 64 * 1024)
    DEF(F_NEXT_UP, l->next_upstream = CF_NEXT_ERROR | CF_NEXT_TIMEOUT)
    DEF(F_TOKENS, l->server_tokens = true)
    DEF(F_MAX_BODY, l->client_max_body_size = 1024 * 1024)
    DEF(F_BODY_TO, l->client_body_timeout_ms = 60000)
    DEF(F_SEND_TO, l->send_timeout_ms = 60000)
    DEF(F_KA_TO, l->keepalive_timeout_ms = 75000)
    DEF(F_KA_REQ, l->keepalive_requests = 1000)
    DEF(F_DEFAULT_TYPE, l->default_type = "text/plain")
    DEF(F_HDR_TO, h->hdr_to = 60000)
    DEF(F_LHB, (h->lhb_n = 4, h->lhb_size = 8192))
    DEF(F_REQ_BUF_PROXY, l->proxy_request_buffering = true)
    DEF(F_REQ_BUF_UWSGI, l->uwsgi_request_buffering = true)
    DEF(F_BODY_BUF_SIZE, l->client_body_buffer_size = 16 * 1024)
    DEF(F_LINGER_CLOSE, l->lingering_close = CF_LINGER_ON)
    DEF(F_LINGER_TIME, l->lingering_time_ms = 30000)
    DEF(F_LINGER_TO, l->lingering_timeout_ms = 5000)
    DEF(F_BUFFERS, (l->buffers_num = 8, l->buffers_size = 4096))
    DEF(F_MAX_TEMP, l->max_temp_file_size = 1024LL * 1024 * 1024)
#undef DEF
    if (!(h->set & (1ULL << F_BODY_TEMP)) && conf_body_default_temp(b, l) < 0)
        return -1;
    if (!(h->set & (1ULL << F_ROOT)) && !(l->root = conf_prefixed(b, "html")))
        return conf_oom(b->R);
    if (!(h->set & (1ULL << F_INDEX))) {
        static char *def_index[] = {"index.html"};
        l->index = def_index;
        l->nindex = 1;
    }
    if (!(h->set & (1ULL << F_ACCESS_LOG))) {
        struct cf_access_log *al = conf_alloc(b->R->A, sizeof(*al));
        if (!al || !(al->path = conf_prefixed(b, "logs/access.log")))
            return conf_oom(b->R);
        al->format = conf_log_find_format(b, "combined");
        l->access_logs = al;
        l->naccess_logs = 1;
    }
    h->set =
        ~0ULL & ~((1ULL << F_RETURN) | (1ULL << F_PASS) | (1ULL << F_STATUS) | (1ULL << F_ALIAS));
    return 0;
}

/* Fills every setting the child did not set from its (already merged) parent. */
static void merge(struct loc_conf *c, const struct loc_conf *p)
{
    struct cf_loc *l = &c->loc;
    const struct cf_loc *q = &p->loc;
#define INH(F, stmt)                                                                               \
    if (!(c->set & (1ULL << (F))) && (p->set & (1ULL << (F))))                                     \
        stmt;
    INH(F_PROXY_HEADERS,
        (l->proxy_headers = q->proxy_headers, l->nproxy_headers = q->nproxy_headers))
    INH(F_UWSGI_PARAMS, (l->uwsgi_params = q->uwsgi_params, l->nuwsgi_params = q->nuwsgi_params,
                         l->uwsgi_http_params = q->uwsgi_http_params))
    INH(F_HTTP_VERSION, l->proxy_http_version = q->proxy_http_version)
    INH(F_CONNECT_TO, l->connect_timeout_ms = q->connect_timeout_ms)
    INH(F_PSEND_TO, l->proxy_send_timeout_ms = q->proxy_send_timeout_ms)
    INH(F_READ_TO, l->read_timeout_ms = q->read_timeout_ms)
    INH(F_BUFFERING, l->buffering = q->buffering)
    INH(F_BUF_SIZE, l->buffer_size = q->buffer_size)
    INH(F_NEXT_UP, l->next_upstream = q->next_upstream)
    INH(F_NEXT_TRIES, l->next_upstream_tries = q->next_upstream_tries)
    INH(F_NEXT_TO, l->next_upstream_timeout_ms = q->next_upstream_timeout_ms)
    INH(F_ROOT, l->root = q->root)
    INH(F_INDEX, (l->index = q->index, l->nindex = q->nindex))
    INH(F_ADD_HEADERS, (l->add_headers = q->add_headers, l->nadd_headers = q->nadd_headers))
    INH(F_TOKENS, l->server_tokens = q->server_tokens)
    INH(F_TIMING, l->server_timing = q->server_timing)
    INH(F_MAX_BODY, l->client_max_body_size = q->client_max_body_size)
    INH(F_BODY_TO, l->client_body_timeout_ms = q->client_body_timeout_ms)
    INH(F_SEND_TO, l->send_timeout_ms = q->send_timeout_ms)
    INH(F_KA_TO, l->keepalive_timeout_ms = q->keepalive_timeout_ms)
    INH(F_KA_REQ, l->keepalive_requests = q->keepalive_requests)
    INH(F_ACCESS_LOG, (l->access_logs = q->access_logs, l->naccess_logs = q->naccess_logs,
                       c->access_off = p->access_off))
    INH(F_TYPES, l->types = q->types)
    INH(F_DEFAULT_TYPE, l->default_type = q->default_type)
    INH(F_EXPIRES, (l->expires = q->expires, l->expires_s = q->expires_s))
    INH(F_HDR_TO, c->hdr_to = p->hdr_to)
    INH(F_LHB, (c->lhb_n = p->lhb_n, c->lhb_size = p->lhb_size))
    INH(F_REQ_BUF_PROXY, l->proxy_request_buffering = q->proxy_request_buffering)
    INH(F_REQ_BUF_UWSGI, l->uwsgi_request_buffering = q->uwsgi_request_buffering)
    INH(F_BODY_BUF_SIZE, l->client_body_buffer_size = q->client_body_buffer_size)
    INH(F_BODY_TEMP, l->client_body_temp = q->client_body_temp)
    INH(F_BODY_IN_FILE, l->client_body_in_file_only = q->client_body_in_file_only)
    INH(F_BODY_SINGLE, l->client_body_in_single_buffer = q->client_body_in_single_buffer)
    INH(F_LINGER_CLOSE, l->lingering_close = q->lingering_close)
    INH(F_LINGER_TIME, l->lingering_time_ms = q->lingering_time_ms)
    INH(F_LINGER_TO, l->lingering_timeout_ms = q->lingering_timeout_ms)
    INH(F_BUFFERS, (l->buffers_num = q->buffers_num, l->buffers_size = q->buffers_size))
    INH(F_BUSY_SIZE, l->busy_buffers_size = q->busy_buffers_size)
    INH(F_MAX_TEMP, l->max_temp_file_size = q->max_temp_file_size)
    INH(F_TEMP_WRITE, l->temp_file_write_size = q->temp_file_write_size)
    INH(F_TEMP_PATH, (l->temp_path = q->temp_path,
                      memcpy(l->temp_levels, q->temp_levels, sizeof(l->temp_levels))))
    INH(F_IGNORE_HDRS, l->ignore_headers = q->ignore_headers)
#undef INH
    uint64_t keep = (1ULL << F_RETURN) | (1ULL << F_PASS) | (1ULL << F_STATUS) | (1ULL << F_ALIAS);
    c->set |= p->set & ~keep;
    if (c->access_off) {
        l->access_logs = NULL;
        l->naccess_logs = 0;
    }
}

static int finish_loc(struct conf_build *b, struct loc_conf *lc, struct cf_server *srv)
{
    struct cf_loc *l = &lc->loc;
    l->server = srv;
    struct loc_conf *sdef = lc->srv->def;
    if (sdef->set & (1ULL << F_RETURN) && lc != sdef) {
        /* a server-level return runs before any location is chosen */
        l->handler = CF_H_RETURN;
        l->content = h_find("return");
        l->return_code = sdef->loc.return_code;
        l->return_text = sdef->loc.return_text;
    } else if (lc->set & (1ULL << F_RETURN)) {
        l->handler = CF_H_RETURN;
        l->content = h_find("return");
    } else if (lc->set & (1ULL << F_PASS)) {
        if (conf_proxy_finish(b, lc) < 0)
            return -1;
    } else if (lc->set & (1ULL << F_STATUS)) {
        l->handler = CF_H_STATUS;
        l->content = h_find("status");
    } else {
        l->handler = CF_H_STATIC;
        l->content = h_find("static");
    }
    return 0;
}

/* The socket options of listen `from` for listen `to` (the same address). */
static void share_listen_opts(const struct cf_listen *from, struct cf_listen *to)
{
    to->reuseport = from->reuseport;
    to->backlog = from->backlog;
    to->deferred = from->deferred;
}

int conf_merge_layout(struct conf_build *b)
{
    struct conf_all *A = b->R->A;
    struct cf_main *cf = b->cf;
    if (set_http_defaults(b, b->http) < 0)
        return -1;
    if (!(b->t_proxy_host = conf_compile(b, NULL, "$proxy_host")) ||
        !(b->t_close = conf_compile(b, NULL, "close")))
        return -1;
    cf->nservers = b->nsrvs;
    cf->servers = conf_alloc(A, (size_t)(b->nsrvs ? b->nsrvs : 1) * sizeof(*cf->servers));
    if (!cf->servers)
        return conf_oom(b->R);
    for (int i = 0; i < b->nsrvs; i++) {
        struct srv_conf *sc = b->srvs[i];
        struct cf_server *srv = &cf->servers[i];
        merge(sc->def, b->http);
        for (int k = 0; k < sc->nlocs; k++) /* parents come before their children */
            merge(sc->locs[k], sc->locs[k]->parent);
        if (sc->nlistens == 0) {
            struct cf_listen *l = CONF_PUSH(A, sc->listens, sc->nlistens);
            if (!l)
                return conf_oom(b->R);
            *l = (struct cf_listen){.backlog = 511, .fd = -1, .where = {sc->n->file, sc->n->line}};
            char e[128];
            if (addr_parse(geteuid() == 0 ? "0.0.0.0:80" : "0.0.0.0:8000", -1, &l->addr, e,
                           sizeof(e)) < 0)
                return conf_error(b->R, sc->n->file, sc->n->line, "%s", e);
        }
        srv->listens = sc->listens;
        srv->nlistens = sc->nlistens;
        if (!sc->nnames) {
            static char *empty[] = {""};
            srv->names = empty;
            srv->nnames = 1;
        } else {
            srv->names = sc->names;
            srv->nnames = sc->nnames;
        }
        srv->where = (struct cf_where){sc->n->file, sc->n->line};
        srv->client_header_timeout_ms = sc->def->hdr_to;
        srv->large_header_buffers = sc->def->lhb_n;
        srv->large_header_buffer_size = sc->def->lhb_size;
        srv->nlocs = sc->nlocs;
        srv->locs = conf_alloc(A, (size_t)(sc->nlocs ? sc->nlocs : 1) * sizeof(*srv->locs));
        srv->def_loc = conf_alloc(A, sizeof(*srv->def_loc));
        if (!srv->locs || !srv->def_loc)
            return conf_oom(b->R);
        if (finish_loc(b, sc->def, srv) < 0)
            return -1;
        *srv->def_loc = sc->def->loc;
        for (int k = 0; k < sc->nlocs; k++) {
            if (finish_loc(b, sc->locs[k], srv) < 0)
                return -1;
            srv->locs[k] = sc->locs[k]->loc;
        }
    }
    /* socket options and default_server may be given once per address, as
     * nginx checks them (in this order, at the later listen); the options
     * hold for each listen of the address (its socket is opened for the
     * first).  Every pair of listens on one address meets here once (one
     * server cannot name an address twice). */
    for (int i = 0; i < cf->nservers; i++)
        for (int j = 0; j < cf->servers[i].nlistens; j++) {
            struct cf_listen *a = &cf->servers[i].listens[j];
            for (int k = 0; k < i; k++)
                for (int m = 0; m < cf->servers[k].nlistens; m++) {
                    struct cf_listen *o = &cf->servers[k].listens[m];
                    if (!addr_equal(&o->addr, &a->addr))
                        continue;
                    const char *what = a->opts && o->opts ? "duplicate listen options"
                                       : a->default_server && o->default_server
                                           ? "a duplicate default server"
                                           : NULL;
                    if (what) {
                        char s[ADDR_STRLEN];
                        addr_format(&a->addr, s, sizeof(s));
                        return conf_error(b->R, a->where.file, a->where.line, "%s for %s", what, s);
                    }
                    if (a->opts || o->opts)
                        share_listen_opts(a->opts ? a : o, a->opts ? o : a);
                }
        }
    if (conf_upstream_check_policies(b) < 0)
        return -1;
    cf->upstreams = b->ups;
    cf->nupstreams = b->nups;
    return 0;
}
