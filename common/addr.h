/* addr: socket addresses as users write them, and the sockets made from them.
 *
 * Accepted spellings (both programs): "host:port", "[v6]:port", ":port"
 * (all IPv4 interfaces), "port", "unix:/path", and (gateway style) a bare
 * "/path" or "./path".  Hostnames are resolved with getaddrinfo(). */
#ifndef CHAIN_ADDR_H
#define CHAIN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct addr {
    struct sockaddr_storage ss; /* AF_INET, AF_INET6 or AF_UNIX */
    socklen_t len;              /* meaningful length of ss */
};

#define ADDR_STRLEN 128 /* enough for addr_format() of any address we make */

/* Resolves `spec` into up to `max` addresses (a hostname may give several).
 * `default_port` is used when the spec has none (-1: a port is required).
 * Returns the number of addresses (>= 1), or -1 with a message in err. */
int addr_resolve(const char *spec, int default_port, struct addr *out, int max, char *err,
                 size_t errlen);
/* addr_resolve() for exactly one address (the first). 0 or -1. */
int addr_parse(const char *spec, int default_port, struct addr *out, char *err, size_t errlen);

/* "127.0.0.1:80", "[::1]:80" or "unix:/path"; returns the length written. */
int addr_format(const struct addr *a, char *buf, size_t len);
/* The host part only ("127.0.0.1", "::1", "unix:") and the port (0 for unix). */
int addr_host(const struct addr *a, char *buf, size_t len);
int addr_port(const struct addr *a);
int addr_is_unix(const struct addr *a);
int addr_equal(const struct addr *a, const struct addr *b);

enum { ADDR_REUSEPORT = 1 }; /* addr_listen() flags */

/* Binds and listens, non-blocking and close-on-exec.  A unix socket path left
 * over from an earlier run is removed first when nothing listens on it; its
 * mode is set to 0666 so workers under another user can connect.  Returns the
 * fd, or -1 with a message (naming the address and errno) in err. */
int addr_listen(const struct addr *a, int backlog, int flags, char *err, size_t errlen);

/* Starts a non-blocking connect (TCP_NODELAY on TCP).  Returns the fd, or
 * -1 with errno.  *connected (may be NULL) tells whether it is connected
 * already (a unix socket: at once or not at all); if not, it is in
 * progress: wait for writability and check SO_ERROR. */
int addr_connect(const struct addr *a, bool *connected);

#endif
