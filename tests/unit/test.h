/*
 * test.h: the tiny assert harness of walship's unit tests.
 *
 *   TEST(name) { ASSERT_INT_EQ(1 + 1, 2); ASSERT_STR_EQ(s, "x"); }
 *   int main(void) { RUN(name); return TEST_DONE(); }
 *
 * A failed assertion prints file:line and the values, marks the current test
 * failed and returns from it. TEST_DONE() prints "N passed, N failed" for the
 * tests of the file and returns the exit status.
 */
#ifndef WALSHIP_TEST_H
#define WALSHIP_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed_, test_failed_, test_cur_failed_;

#define TEST(name) static void test_##name(void)

#define RUN(name) do { \
	test_cur_failed_ = 0; \
	test_##name(); \
	if (test_cur_failed_) { \
		test_failed_++; \
		printf("FAIL %s\n", #name); \
	} else { \
		test_passed_++; \
		printf("ok   %s\n", #name); \
	} \
} while (0)

#define TEST_FAIL_(...) do { \
	fprintf(stdout, "  %s:%d: ", __FILE__, __LINE__); \
	fprintf(stdout, __VA_ARGS__); \
	fputc('\n', stdout); \
	test_cur_failed_ = 1; \
	return; \
} while (0)

#define ASSERT(c) do { if (!(c)) TEST_FAIL_("assertion failed: %s", #c); } while (0)

#define ASSERT_INT_EQ(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); \
} while (0)

#define ASSERT_STR_EQ(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) \
		TEST_FAIL_("%s == %s:\n    got:  \"%s\"\n    want: \"%s\"", #a, #b, \
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
} while (0)

#define ASSERT_MEM_EQ(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) TEST_FAIL_("%s == %s (%zu bytes)", #a, #b, (size_t)(n)); \
} while (0)

#define TEST_DONE() (printf("%d passed, %d failed\n", test_passed_, test_failed_), \
	test_failed_ ? 1 : 0)

#endif
