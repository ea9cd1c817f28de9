/* handler: the registry of content handlers (see handler.h). */
#include "handler.h"

#include <string.h>

#define H_MAX 16

static const struct h_ops *registry[H_MAX];
static int nregistry;

int h_register(const struct h_ops *ops)
{
    for (int i = 0; i < nregistry; i++) {
        if (strcmp(registry[i]->name, ops->name) == 0) {
            registry[i] = ops;
            return 0;
        }
    }
    if (nregistry >= H_MAX)
        return -1;
    registry[nregistry++] = ops;
    return 0;
}

const struct h_ops *h_find(const char *name)
{
    for (int i = 0; i < nregistry; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}
