/* fuzz_check: the harnesses' invariant check.  A broken invariant is a
 * finding like a crash: it prints where and why and aborts, so libFuzzer
 * saves the input as a crash file. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Is [p, p+n) inside [base, base+len)? */
#define FUZZ_WITHIN(p, n, base, len)                                                               \
    ((const char *)(p) >= (const char *)(base) &&                                                  \
     (const char *)(p) + (n) <= (const char *)(base) + (len))

#endif
