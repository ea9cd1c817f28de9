/* priv: dropping the workers' privileges (see priv.h). */
#define _GNU_SOURCE
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "log.h"

int priv_drop(const struct cf_main *cf)
{
    if (!cf->user_set || geteuid() != 0)
        return 0;
    if (setgid(cf->user_gid) < 0) {
        log_msg(LL_EMERG, "setgid(%ld) failed (%d: %s)", (long)cf->user_gid, errno,
                strerror(errno));
        return -1;
    }
    if (initgroups(cf->user_name, cf->user_gid) < 0) {
        log_msg(LL_EMERG, "initgroups(%s, %ld) failed (%d: %s)", cf->user_name, (long)cf->user_gid,
                errno, strerror(errno));
        return -1;
    }
    if (setuid(cf->user_uid) < 0) {
        log_msg(LL_EMERG, "setuid(%ld) failed (%d: %s)", (long)cf->user_uid, errno,
                strerror(errno));
        return -1;
    }
    /* a worker must never get root back: check it, as the setuid(2) page
     * advises */
    if (cf->user_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        log_msg(LL_EMERG, "the worker could regain root after setuid(%ld)", (long)cf->user_uid);
        return -1;
    }
    /* core dumps stay possible for the unprivileged worker (setuid clears
     * the flag) */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        log_debug("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
    return 0;
}

int priv_chown_dir(const struct cf_main *cf, const char *path)
{
    if (!cf->user_set || geteuid() != 0)
        return 0;
    if (chown(path, cf->user_uid, cf->user_gid) < 0) {
        log_error("chown(\"%s\", %s) failed (%d: %s)", path, cf->user_name, errno, strerror(errno));
        return -1;
    }
    return 0;
}

int priv_chown_file(const struct cf_main *cf, const char *path)
{
    if (!cf->user_set || geteuid() != 0 || strcmp(path, "stderr") == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        log_error("open() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = 0;
    /* the owner only, as nginx: the group stays the master's */
    if (fstat(fd, &st) == 0 && st.st_uid != cf->user_uid && fchown(fd, cf->user_uid, -1) < 0) {
        log_error("chown(\"%s\", %s) failed (%d: %s)", path, cf->user_name, errno, strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}

static void hand_one(const char *path, void *ud)
{
    (void)priv_chown_file(ud, path);
}

void priv_hand_logs(const struct cf_main *cf, const char *elog)
{
    if (!cf->user_set || geteuid() != 0)
        return;
    if (elog)
        (void)priv_chown_file(cf, elog);
    accesslog_each_path(cf, hand_one, (void *)cf);
}
