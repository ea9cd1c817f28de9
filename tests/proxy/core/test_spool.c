/* Unit tests of proxy/core/spool.c: a body stays in memory up to mem_max and
 * never holds more there; past it everything is in a temp file (unlinked
 * at once in SPOOL_FILE_OFF, named and removed at reset in CLEAN, kept in
 * ON), named as nginx names them under `levels`; reads from any offset
 * and the cursor give the same bytes back, again after a rewind. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char dir[256];

/* Appends n bytes of p through spool_append, as the session hands them. */
static int put(struct spool *sp, const void *p, size_t n)
{
    struct evbuffer *b = evbuffer_new();
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(evbuffer_add(b, p, n), 0);
    int rc = spool_append(sp, b, n);
    evbuffer_free(b);
    return rc;
}

static void rm_tree(const char *p)
{
    struct stat st;
    if (lstat(p, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char q[512];
            snprintf(q, sizeof(q), "%s/%s", p, e->d_name);
            rm_tree(q);
        }
        if (d)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

/* Regular files under p (recursively). */
static int count_files(const char *p)
{
    DIR *d = opendir(p);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char q[512];
        snprintf(q, sizeof(q), "%s/%s", p, e->d_name);
        struct stat st;
        if (lstat(q, &st) == 0)
            n += S_ISDIR(st.st_mode) ? count_files(q) : 1;
    }
    closedir(d);
    return n;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_spool.%d/body", (int)getpid());
}

static void teardown(void)
{
    char top[256];
    snprintf(top, sizeof(top), "/tmp/test_spool.%d", (int)getpid());
    rm_tree(top);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* Everything the spool holds, read back through spool_copy in pieces of
 * `piece` bytes, equals p. */
static void check_copy(struct spool *sp, const unsigned char *p, size_t n, size_t piece)
{
    struct evbuffer *out = evbuffer_new();
    uint64_t off = 0;
    for (int guard = 0; off < n && guard < 100000; guard++) {
        ssize_t k = spool_copy(sp, off, piece, out);
        ck_assert_int_gt(k, 0);
        ck_assert_int_le(k, (ssize_t)piece);
        off += (uint64_t)k;
    }
    ck_assert_uint_eq(off, n);
    ck_assert_int_eq(spool_copy(sp, off, piece, out), 0);
    ck_assert_uint_eq(evbuffer_get_length(out), n);
    ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), p, n), 0);
    evbuffer_free(out);
}

static struct spool_conf conf(size_t mem_max, enum spool_file mode)
{
    static const int levels[] = {1, 2};
    struct spool_conf c = {mem_max, dir, levels, 2, mode};
    return c;
}

START_TEST(test_memory_then_file)
{
    struct spool sp;
    spool_init(&sp);
    struct spool_conf c = conf(1000, SPOOL_FILE_OFF);
    ck_assert_int_eq(spool_open(&sp, &c), 0);
    static unsigned char body[300000];
    fill(body, sizeof(body), 1);
    struct evbuffer *in = evbuffer_new();
    /* up to mem_max: memory only, no file, no directory yet */
    evbuffer_add(in, body, 1000);
    ck_assert_int_eq(spool_append(&sp, in, 600), 0);
    ck_assert_int_eq(spool_append(&sp, in, 400), 0);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert(!spool_in_file(&sp));
    ck_assert_ptr_null(spool_path(&sp));
    ck_assert_uint_eq(spool_length(&sp), 1000);
    const char *m;
    size_t ml;
    ck_assert_int_eq(spool_mem(&sp, &m, &ml), 0);
    ck_assert_uint_eq(ml, 1000);
    ck_assert_int_eq(memcmp(m, body, 1000), 0);
    check_copy(&sp, body, 1000, 77);
    /* one byte more: all of it moves to a file, memory is empty */
    ck_assert_int_eq(put(&sp, body + 1000, 1), 0);
    ck_assert(spool_in_file(&sp));
    ck_assert_uint_eq(evbuffer_get_length(sp.mem), 0);
    ck_assert_int_eq(spool_mem(&sp, &m, &ml), -1);
    /* the rest, in pieces, from an evbuffer */
    size_t at = 1001;
    while (at < sizeof(body)) {
        size_t k = sizeof(body) - at < 12345 ? sizeof(body) - at : 12345;
        evbuffer_add(in, body + at, k);
        ck_assert_int_eq(spool_append(&sp, in, k), 0);
        ck_assert_uint_eq(evbuffer_get_length(sp.mem), 0); /* never in RAM again */
        at += k;
    }
    ck_assert_uint_eq(spool_length(&sp), sizeof(body));
    check_copy(&sp, body, sizeof(body), 65536);
    check_copy(&sp, body, sizeof(body), 1000);
    /* OFF: the file was unlinked when it was made; its name is kept */
    ck_assert_ptr_nonnull(spool_path(&sp));
    struct stat st;
    ck_assert_int_eq(stat(spool_path(&sp), &st), -1);
    ck_assert_int_eq(count_files(dir), 0);
    /* its directories were made, 0700 */
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    spool_free(&sp);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_cursor_and_rewind)
{
    struct spool sp;
    spool_init(&sp);
    static unsigned char body[200000];
    fill(body, sizeof(body), 2);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0 in memory, pass 1 in a file */
        struct spool_conf c = conf(pass ? 100 : sizeof(body), SPOOL_FILE_OFF);
        ck_assert_int_eq(spool_open(&sp, &c), 0);
        ck_assert_int_eq(put(&sp, body, sizeof(body)), 0);
        ck_assert(spool_in_file(&sp) == (pass == 1));
        for (int round = 0; round < 2; round++) { /* a retry sends it all again */
            spool_rewind(&sp);
            ck_assert_uint_eq(spool_left(&sp), sizeof(body));
            struct evbuffer *out = evbuffer_new();
            int guard = 0;
            while (spool_left(&sp) > 0 && guard++ < 10000)
                ck_assert_int_gt(spool_send(&sp, out, 30000), 0);
            ck_assert_int_eq(spool_send(&sp, out, 30000), 0);
            ck_assert_uint_eq(evbuffer_get_length(out), sizeof(body));
            ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), body, sizeof(body)), 0);
            evbuffer_free(out);
        }
        /* reads from an offset in the middle */
        struct evbuffer *out = evbuffer_new();
        ck_assert_int_eq(spool_copy(&sp, 150000, 10, out), 10);
        ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), body + 150000, 10), 0);
        ck_assert_int_eq(spool_copy(&sp, sizeof(body) - 3, 10, out), 3);
        evbuffer_free(out);
    }
    /* reset: the next body starts empty and in memory */
    spool_reset(&sp);
    ck_assert_uint_eq(spool_length(&sp), 0);
    ck_assert(!spool_in_file(&sp));
    spool_free(&sp);
}
END_TEST

START_TEST(test_file_only_modes)
{
    struct spool sp;
    spool_init(&sp);
    /* CLEAN: a named file from the first byte, removed by reset */
    struct spool_conf c = conf(1 << 20, SPOOL_FILE_CLEAN);
    ck_assert_int_eq(spool_open(&sp, &c), 0);
    ck_assert(spool_in_file(&sp));
    ck_assert_int_eq(put(&sp, "small", 5), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s", spool_path(&sp));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, 5);
    /* named as nginx: DIR/L1/L2/NNNNNNNNNN, the levels from the end */
    size_t dl = strlen(dir);
    ck_assert_int_eq(strncmp(path, dir, dl), 0);
    const char *rel = path + dl; /* "/d/dd/dddddddddd" */
    ck_assert_uint_eq(strlen(rel), 1 + 1 + 1 + 2 + 1 + 10);
    ck_assert_int_eq(rel[2], '/');
    ck_assert_int_eq(rel[5], '/');
    const char *num = rel + 6;
    ck_assert_int_eq(rel[1], num[9]);
    ck_assert_int_eq(memcmp(rel + 3, num + 7, 2), 0);
    spool_reset(&sp);
    ck_assert_int_eq(stat(path, &st), -1);
    ck_assert_int_eq(count_files(dir), 0);
    /* ON: kept on disk with the body */
    c.mode = SPOOL_FILE_ON;
    ck_assert_int_eq(spool_open(&sp, &c), 0);
    ck_assert_int_eq(put(&sp, "kept", 4), 0);
    snprintf(path, sizeof(path), "%s", spool_path(&sp));
    spool_free(&sp);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char got[8] = {0};
    ck_assert_uint_eq(fread(got, 1, sizeof(got), f), 4);
    fclose(f);
    ck_assert_str_eq(got, "kept");
    ck_assert_int_eq(count_files(dir), 1);
}
END_TEST

START_TEST(test_many_files_get_distinct_names)
{
    struct spool sp[40];
    struct spool_conf c = conf(0, SPOOL_FILE_CLEAN);
    for (int i = 0; i < 40; i++) {
        spool_init(&sp[i]);
        ck_assert_int_eq(spool_open(&sp[i], &c), 0);
    }
    ck_assert_int_eq(count_files(dir), 40);
    for (int i = 0; i < 40; i++)
        spool_free(&sp[i]);
    ck_assert_int_eq(count_files(dir), 0);
}
END_TEST

START_TEST(test_errors)
{
    struct spool sp;
    spool_init(&sp);
    /* a temp "directory" that is a file: the spool says so, no crash */
    char top[256];
    snprintf(top, sizeof(top), "/tmp/test_spool.%d", (int)getpid());
    ck_assert_int_eq(spool_mkdir(top), 0);
    FILE *f = fopen(dir, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    struct spool_conf c = conf(10, SPOOL_FILE_OFF);
    ck_assert_int_eq(spool_open(&sp, &c), 0);
    ck_assert_int_eq(put(&sp, "0123456789", 10), 0);
    errno = 0;
    ck_assert_int_eq(put(&sp, "x", 1), -1);
    ck_assert_int_ne(errno, 0);
    ck_assert_int_eq(spool_mkdir(dir), -1);
    spool_free(&sp);
}
END_TEST

Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("spool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_memory_then_file);
    tcase_add_test(tc, test_cursor_and_rewind);
    tcase_add_test(tc, test_file_only_modes);
    tcase_add_test(tc, test_many_files_get_distinct_names);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
