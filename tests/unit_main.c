/* The one Check runner: adds every suite listed in suites.def and fails when
 * any test fails.  CK_FORK stays on so a crashing test is reported, not fatal.
 * Check's own per-test timeouts (4 s by default, tcase_set_timeout()) are
 * wall-clock limits that a busy machine trips: they are off (a multiplier of
 * 0, unless CK_TIMEOUT_MULTIPLIER is set), and the runner's one time limit is
 * the one ctest is given on its command line (tests/run.sh --timeout). */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name##_suite(void);
#include "suites.def"
#undef SUITE

int main(void)
{
    /* read by tcase_create() and tcase_set_timeout(): before the suites */
    setenv("CK_TIMEOUT_MULTIPLIER", "0", 0);
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include "suites.def"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
