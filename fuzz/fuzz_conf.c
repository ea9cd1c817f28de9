/* fuzz_conf: the configuration reader (proxy/conf: conf_load, the
 * tokenizer, includes, every module's directive table, the merge).
 *
 * The input is a configuration file: it is written to fuzz.conf in a
 * private temporary folder (the -p prefix and the includes' folder) and
 * loaded as the proxy loads its -c file.  Errors are expected; crashes,
 * leaks (LeakSanitizer at exit and after each input), hangs and
 * out-of-bounds reads are not.
 *
 * Invariants beyond "no crash":
 *  - a refusal has a message; a loaded tree has at least one worker and
 *    one connection per worker, and each server a listen with a port (or
 *    a UNIX socket), a default location and header buffers;
 *  - loading is deterministic: the same file loads again with the same
 *    verdict and the same message.
 *
 * Names in upstream and listen addresses are resolved by the reader.  The
 * fuzzer must not send DNS queries, so getaddrinfo() here answers numeric
 * addresses and localhost (from /etc/hosts) only, and any other name as
 * "not found" at once, as an offline resolver would. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static gai_fn real;
    if (!real)
        real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    FUZZ_CHECK(real != NULL);
    struct addrinfo h = {0};
    if (hints)
        h = *hints;
    if (node && strcmp(node, "localhost") != 0)
        h.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &h, res);
}

static char dir[] = "/tmp/fuzz_conf.XXXXXX";
static char path[PATH_MAX];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
    atexit(cleanup);
    return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        FUZZ_CHECK(w > 0);
        off += (size_t)w;
    }
    FUZZ_CHECK(close(fd) == 0);
}

static void check_tree(const struct cf_main *cf)
{
    FUZZ_CHECK(cf->worker_processes >= 1 && cf->worker_connections >= 1);
    FUZZ_CHECK(cf->nservers >= 0 && (cf->nservers == 0 || cf->servers));
    for (int i = 0; i < cf->nservers; i++) {
        const struct cf_server *s = &cf->servers[i];
        FUZZ_CHECK(s->nlistens >= 1 && s->def_loc != NULL);
        for (int k = 0; k < s->nlistens; k++)
            FUZZ_CHECK(addr_is_unix(&s->listens[k].addr) || addr_port(&s->listens[k].addr) != 0);
        FUZZ_CHECK(s->large_header_buffers >= 1 && s->large_header_buffer_size >= 1);
        FUZZ_CHECK(s->nlocs >= 0 && (s->nlocs == 0 || s->locs));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(data, size);
    char err[1024], err2[1024];
    err[0] = err2[0] = 0;
    struct cf_main *cf = NULL, *cf2 = NULL;
    int rc = conf_load(path, dir, NULL, &cf, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_CHECK(cf != NULL);
        check_tree(cf);
    } else {
        FUZZ_CHECK(err[0] != 0 && memchr(err, 0, sizeof(err)) != NULL);
    }
    int rc2 = conf_load(path, dir, NULL, &cf2, err2, sizeof(err2));
    FUZZ_CHECK(rc2 == rc);
    if (rc != 0) {
        if (strcmp(err, err2) != 0)
            fprintf(stderr, "first: %s\nagain: %s\n", err, err2);
        FUZZ_CHECK(strcmp(err, err2) == 0);
    }
    cf_free(cf);
    cf_free(cf2);
    return 0;
}
