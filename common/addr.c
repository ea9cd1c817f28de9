/* addr: parsing, formatting, listening and connecting (see addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int set_unix(const char *path, struct addr *out, char *err, size_t errlen)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(un->sun_path)) {
        snprintf(err, errlen, "invalid unix socket path \"%s\"", path);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 1;
}

static int parse_port(const char *s, int *port)
{
    if (!*s)
        return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int addr_resolve(const char *spec, int default_port, struct addr *out, int max, char *err,
                 size_t errlen)
{
    if (max < 1) {
        snprintf(err, errlen, "no room for an address");
        return -1;
    }
    if (strncmp(spec, "unix:", 5) == 0)
        return set_unix(spec + 5, out, err, errlen);
    if (spec[0] == '/' || spec[0] == '.')
        return set_unix(spec, out, err, errlen);

    char host[256];
    const char *port_s = NULL;
    size_t hl;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb) {
            snprintf(err, errlen, "invalid address \"%s\": missing ']'", spec);
            return -1;
        }
        hl = (size_t)(rb - spec - 1);
        if (hl >= sizeof(host))
            goto bad;
        memcpy(host, spec + 1, hl);
        host[hl] = '\0';
        if (rb[1] == ':')
            port_s = rb + 2;
        else if (rb[1] != '\0')
            goto bad;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon && strchr(spec, ':') != colon) {
            snprintf(err, errlen, "invalid address \"%s\": put IPv6 addresses in [ ]", spec);
            return -1;
        }
        if (colon) {
            hl = (size_t)(colon - spec);
            port_s = colon + 1;
        } else {
            /* all digits: a port alone */
            const char *p = spec;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p == '\0' && p != spec) {
                hl = 0;
                port_s = spec;
            } else {
                hl = strlen(spec);
            }
        }
        if (hl >= sizeof(host))
            goto bad;
        memcpy(host, spec, hl);
        host[hl] = '\0';
    }

    int port = default_port;
    if (port_s && parse_port(port_s, &port) < 0) {
        snprintf(err, errlen, "invalid port in \"%s\"", spec);
        return -1;
    }
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "no port in \"%s\"", spec);
        return -1;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    const char *h = host;
    if (!*host || strcmp(host, "*") == 0) {
        h = "0.0.0.0";
        hints.ai_flags |= AI_NUMERICHOST;
    }
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    int rc = getaddrinfo(h, portbuf, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "host not found in \"%s\": %s", spec, gai_strerror(rc));
        return -1;
    }
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(out[n].ss))
            continue;
        int dup = 0;
        for (int i = 0; i < n; i++)
            if (out[i].len == ai->ai_addrlen &&
                memcmp(&out[i].ss, ai->ai_addr, ai->ai_addrlen) == 0)
                dup = 1;
        if (dup)
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    if (n == 0) {
        snprintf(err, errlen, "host not found in \"%s\"", spec);
        return -1;
    }
    return n;
bad:
    snprintf(err, errlen, "invalid address \"%s\"", spec);
    return -1;
}

int addr_parse(const char *spec, int default_port, struct addr *out, char *err, size_t errlen)
{
    return addr_resolve(spec, default_port, out, 1, err, errlen) < 0 ? -1 : 0;
}

int addr_host(const struct addr *a, char *buf, size_t len)
{
    switch (a->ss.ss_family) {
    case AF_INET:
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, buf, (socklen_t)len);
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, buf, (socklen_t)len);
        break;
    case AF_UNIX:
        snprintf(buf, len, "unix:");
        break;
    default:
        snprintf(buf, len, "?");
    }
    return (int)strlen(buf);
}

int addr_port(const struct addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

int addr_is_unix(const struct addr *a)
{
    return a->ss.ss_family == AF_UNIX;
}

int addr_equal(const struct addr *a, const struct addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int addr_format(const struct addr *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    switch (a->ss.ss_family) {
    case AF_INET:
        addr_host(a, host, sizeof(host));
        return snprintf(buf, len, "%s:%d", host, addr_port(a));
    case AF_INET6:
        addr_host(a, host, sizeof(host));
        return snprintf(buf, len, "[%s]:%d", host, addr_port(a));
    case AF_UNIX:
        return snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)&a->ss)->sun_path);
    default:
        return snprintf(buf, len, "?");
    }
}

/* A unix socket file left by a dead process blocks bind(); remove it only if
 * connecting to it is refused, so a live server's socket is never stolen. */
static void remove_stale_unix(const struct addr *a)
{
    const char *path = ((const struct sockaddr_un *)&a->ss)->sun_path;
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

int addr_listen(const struct addr *a, int backlog, int flags, char *err, size_t errlen)
{
    char name[ADDR_STRLEN];
    addr_format(a, name, sizeof(name));
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket() for %s failed: %s", name, strerror(errno));
        return -1;
    }
    int one = 1;
    if (a->ss.ss_family != AF_UNIX) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if ((flags & ADDR_REUSEPORT) &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
            snprintf(err, errlen, "setsockopt(SO_REUSEPORT) for %s failed: %s", name,
                     strerror(errno));
            goto fail;
        }
    } else {
        remove_stale_unix(a);
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        snprintf(err, errlen, "bind() to %s failed: %s", name, strerror(errno));
        goto fail;
    }
    if (a->ss.ss_family == AF_UNIX)
        chmod(((const struct sockaddr_un *)&a->ss)->sun_path, 0666);
    if (listen(fd, backlog) < 0) {
        snprintf(err, errlen, "listen() on %s failed: %s", name, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int addr_connect(const struct addr *a, bool *connected)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (a->ss.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    /* A unix socket whose backlog is full answers EAGAIN: that is a failure. */
    int rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (rc < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (connected)
        *connected = rc == 0;
    return fd;
}
