/* Unit tests of proxy/core/tmpbuf.c: bytes come out in the order they went
 * in across memory and file, memory stays within its limit, the file is
 * used only past it, never exists by name, and is started over once read;
 * without a file the room is the memory's. */
#include <check.h>
#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpbuf.h"

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tmpbuf-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Files left under dir, recursively. */
static int count_files(const char *d)
{
    DIR *D = opendir(d);
    if (!D)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(D))) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        if (e->d_type == DT_DIR)
            n += count_files(p);
        else
            n++;
    }
    closedir(D);
    return n;
}

static void rm_tree(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

/* byte i of the test stream */
static unsigned char pat(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}

static void add_pat(struct evbuffer *b, size_t from, size_t n)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = pat(from + i);
    evbuffer_add(b, p, n);
    free(p);
}

static void check_pat(struct evbuffer *b, size_t from)
{
    size_t n = evbuffer_get_length(b);
    unsigned char *p = evbuffer_pullup(b, -1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(p[i] == pat(from + i), "byte %zu", from + i);
}

START_TEST(test_memory_only)
{
    int lv[3] = {0};
    struct tmpbuf_conf c = {1000, 0, 100, "/nonexistent", lv};
    struct tmpbuf *tb = tmpbuf_new(&c);
    ck_assert_uint_eq(tmpbuf_room(tb), 1000);
    struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
    add_pat(src, 0, 600);
    ck_assert_int_eq(tmpbuf_add(tb, src, 600), 0);
    ck_assert_uint_eq(tmpbuf_room(tb), 400);
    ck_assert_uint_eq(tmpbuf_len(tb), 600);
    ck_assert_int_eq(tmpbuf_out(tb, dst, 250), 250);
    ck_assert_uint_eq(tmpbuf_room(tb), 650);
    ck_assert_int_eq(tmpbuf_out(tb, dst, 10000), 350);
    ck_assert_int_eq(tmpbuf_out(tb, dst, 10000), 0);
    check_pat(dst, 0);
    ck_assert(!tmpbuf_used_file(tb));
    evbuffer_free(src);
    evbuffer_free(dst);
    tmpbuf_free(tb);
}
END_TEST

/* A stream far larger than memory, fed and taken in uneven pieces: exact
 * order, memory within its limit, the file used, nothing left by name. */
START_TEST(test_spill_order)
{
    mkdir_tmp();
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/proxy_temp", dir);
    int lv[3] = {1, 2, 0};
    struct tmpbuf_conf c = {4096, 1 << 20, 8192, sub, lv};
    struct tmpbuf *tb = tmpbuf_new(&c);
    struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
    size_t total = 300000, in = 0, out = 0;
    unsigned k = 1;
    while (out < total) {
        k = k * 1103515245u + 12345u;
        size_t n = (k >> 8) % 9000 + 1;
        if (in < total) {
            if (n > total - in)
                n = total - in;
            size_t room = tmpbuf_room(tb);
            if (n > room)
                n = room;
            add_pat(src, in, n);
            ck_assert_int_eq(tmpbuf_add(tb, src, n), 0);
            ck_assert_uint_eq(evbuffer_get_length(src), 0);
            in += n;
            ck_assert_int_eq(count_files(dir), 0); /* unlinked at once */
        }
        /* take a little less than what comes: the queue grows */
        long got = tmpbuf_out(tb, dst, (k >> 4) % 7000 + 1);
        ck_assert_int_ge(got, 0);
        check_pat(dst, out);
        out += (size_t)got;
        evbuffer_drain(dst, evbuffer_get_length(dst));
        ck_assert_uint_eq(tmpbuf_len(tb), in - out);
    }
    ck_assert(tmpbuf_used_file(tb));
    tmpbuf_free(tb);
    evbuffer_free(src);
    evbuffer_free(dst);
    ck_assert_int_eq(count_files(dir), 0);
    rm_tree(dir);
}
END_TEST

/* The file's limit bounds the room; once read out, the file starts over. */
START_TEST(test_file_limit)
{
    mkdir_tmp();
    struct tmpbuf_conf c = {100, 1000, 64, dir, NULL};
    struct tmpbuf *tb = tmpbuf_new(&c);
    struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
    ck_assert_uint_eq(tmpbuf_room(tb), 1100);
    add_pat(src, 0, 1100);
    ck_assert_int_eq(tmpbuf_add(tb, src, 1100), 0);
    ck_assert_uint_eq(tmpbuf_room(tb), 0);
    /* memory emptied: while the file holds bytes, appends go after them */
    ck_assert_int_eq(tmpbuf_out(tb, dst, 100), 100);
    ck_assert_uint_eq(tmpbuf_room(tb), 0);
    while (tmpbuf_len(tb) > 0)
        ck_assert_int_gt(tmpbuf_out(tb, dst, 333), 0);
    check_pat(dst, 0);
    ck_assert_uint_eq(evbuffer_get_length(dst), 1100);
    ck_assert_uint_eq(tmpbuf_room(tb), 1100); /* started over */
    tmpbuf_reset(tb, NULL);
    ck_assert_uint_eq(tmpbuf_len(tb), 0);
    tmpbuf_free(tb);
    evbuffer_free(src);
    evbuffer_free(dst);
    rm_tree(dir);
}
END_TEST

/* A folder that cannot be made: an error, the bytes stay with the caller. */
START_TEST(test_file_error)
{
    struct tmpbuf_conf c = {10, 1000, 64, "/proc/no/such/dir", NULL};
    struct tmpbuf *tb = tmpbuf_new(&c);
    struct evbuffer *src = evbuffer_new();
    add_pat(src, 0, 50);
    ck_assert_int_eq(tmpbuf_add(tb, src, 50), -1);
    ck_assert_uint_eq(evbuffer_get_length(src) + tmpbuf_len(tb), 50);
    evbuffer_free(src);
    tmpbuf_free(tb);
}
END_TEST

Suite *tmpbuf_suite(void)
{
    Suite *s = suite_create("tmpbuf");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, test_memory_only);
    tcase_add_test(tc, test_spill_order);
    tcase_add_test(tc, test_file_limit);
    tcase_add_test(tc, test_file_error);
    suite_add_tcase(s, tc);
    return s;
}
