/* priv: socket ownership and the privilege drop (see gw_priv.h). */
#include "gw_priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* A user by name or number.  0 with *uid (and *pw when the name is known to
 * the system, else NULL), or -1. */
static int find_user(const char *what, const char *spec, uid_t *uid, struct passwd **pw)
{
    char *end;
    long n = strtol(spec, &end, 10);
    bool numeric = *spec && !*end && n >= 0;
    *pw = numeric ? getpwuid((uid_t)n) : getpwnam(spec);
    if (!*pw && !numeric) {
        log_crit("%s %s: no such user", what, spec);
        return -1;
    }
    *uid = *pw ? (*pw)->pw_uid : (uid_t)n;
    return 0;
}

static int find_group(const char *what, const char *spec, gid_t *gid)
{
    char *end;
    long n = strtol(spec, &end, 10);
    bool numeric = *spec && !*end && n >= 0;
    struct group *gr = numeric ? getgrgid((gid_t)n) : getgrnam(spec);
    if (!gr && !numeric) {
        log_crit("%s %s: no such group", what, spec);
        return -1;
    }
    *gid = gr ? gr->gr_gid : (gid_t)n;
    return 0;
}

int gw_priv_socket_perms(const struct gw_opts *o, const struct gw_listener *lst, int n)
{
    if (!o->chown_socket && !o->chmod_socket)
        return 0;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    if (o->chown_socket) {
        char user[256];
        const char *colon = strchr(o->chown_socket, ':');
        size_t ul = colon ? (size_t)(colon - o->chown_socket) : strlen(o->chown_socket);
        if (ul >= sizeof(user)) {
            log_crit("--chown-socket %s: name too long", o->chown_socket);
            return -1;
        }
        memcpy(user, o->chown_socket, ul);
        user[ul] = '\0';
        struct passwd *pw;
        if (ul && find_user("--chown-socket", user, &uid, &pw) < 0)
            return -1;
        if (colon && colon[1] && find_group("--chown-socket", colon + 1, &gid) < 0)
            return -1;
    }
    mode_t mode = o->chmod_socket ? (mode_t)strtol(o->chmod_socket, NULL, 8) : 0;
    for (int i = 0; i < n; i++) {
        if (lst[i].addr.ss.ss_family != AF_UNIX)
            continue;
        const char *path = ((const struct sockaddr_un *)&lst[i].addr.ss)->sun_path;
        if (!path[0])
            continue; /* abstract namespace: no file to own */
        if (o->chown_socket && chown(path, uid, gid) < 0) {
            log_crit("--chown-socket %s: chown %s: %s", o->chown_socket, path, strerror(errno));
            return -1;
        }
        if (o->chmod_socket && chmod(path, mode) < 0) {
            log_crit("--chmod-socket %s: chmod %s: %s", o->chmod_socket, path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int gw_priv_drop(const struct gw_opts *o)
{
    if (!o->uid && !o->gid)
        return 0;
    uid_t uid = getuid();
    gid_t gid = getgid();
    const char *user = NULL;
    if (o->gid && find_group("--gid", o->gid, &gid) < 0)
        return -1;
    if (o->uid) {
        struct passwd *pw;
        if (find_user("--uid", o->uid, &uid, &pw) < 0)
            return -1;
        if (pw) {
            user = pw->pw_name;
            if (!o->gid)
                gid = pw->pw_gid;
        }
    }
    if ((user ? initgroups(user, gid) : setgroups(0, NULL)) < 0 && errno != EPERM) {
        log_crit("cannot set the supplementary groups: %s", strerror(errno));
        return -1;
    }
    if (setgid(gid) < 0 || setuid(uid) < 0) {
        log_crit("cannot become uid %d gid %d: %s", (int)uid, (int)gid, strerror(errno));
        return -1;
    }
    /* a process that could get root back has not dropped anything */
    if (uid != 0 && setuid(0) == 0) {
        log_crit("--uid: root privileges could be regained");
        return -1;
    }
    log_info("running as uid %d gid %d", (int)uid, (int)gid);
    return 0;
}
