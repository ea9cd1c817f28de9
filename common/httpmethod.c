/* httpmethod: any method through llhttp 8.1.0 (see httpmethod.h). */
#include "httpmethod.h"

#include <string.h>

bool http_method_known(const char *m, size_t len)
{
#define XX(num, name, string)                                                                      \
    if (len == sizeof(#string) - 1 && memcmp(m, #string, len) == 0)                                \
        return true;
    HTTP_ALL_METHOD_MAP(XX)
#undef XX
    return false;
}

llhttp_errno_t http_execute_request(llhttp_t *p, const char *head, size_t len, size_t method_len)
{
    if (http_method_known(head, method_len))
        return llhttp_execute(p, head, len);
    llhttp_errno_t e = llhttp_execute(p, "GET ", 4);
    if (e != HPE_OK)
        return e;
    return llhttp_execute(p, head + method_len + 1, len - method_len - 1);
}
