/* req: the request struct's own memory (see gw_req.h). */
#include "gw_req.h"

#include <stdlib.h>
#include <string.h>

void gw_req_reset(struct gw_req *r)
{
    struct gw_hdr *h = r->hdrs;
    int cap = r->hcap;
    memset(r, 0, sizeof(*r));
    r->hdrs = h;
    r->hcap = cap;
    r->content_length = -1;
}

void gw_req_free(struct gw_req *r)
{
    free(r->hdrs);
    r->hdrs = NULL;
    r->hcap = 0;
    r->nhdrs = 0;
}

int gw_req_reserve(struct gw_req *r, int n)
{
    if (n <= r->hcap)
        return 0;
    int ncap = r->hcap ? r->hcap : 32;
    while (ncap < n)
        ncap *= 2;
    struct gw_hdr *nh = realloc(r->hdrs, sizeof(*nh) * (size_t)ncap);
    if (!nh)
        return -1;
    r->hdrs = nh;
    r->hcap = ncap;
    return 0;
}
