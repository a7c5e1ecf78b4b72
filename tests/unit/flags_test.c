/* Go flag package semantics of cli/flags.c. */
#include <stdio.h>
#include <stdlib.h>

#include "flags.h"
#include "test.h"

static const char *opt_o;
static bool opt_v;
static long opt_n;
static const struct flag flags[] = {
	{ "o", FLAG_STRING, &opt_o, "PATH", "output" },
	{ "if-db-not-exists", FLAG_BOOL, &opt_v, NULL, "bool" },
	{ "parallelism", FLAG_INT, &opt_n, "N", "int" },
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static char errs[512];

static int
parse(int argc, char **argv)
{
	opt_o = NULL;
	opt_v = false;
	opt_n = 8;
	FILE *f = fmemopen(errs, sizeof(errs), "w");
	int rc = flags_parse(flags, NFLAGS, argc, argv, f);
	fclose(f);
	return rc;
}

TEST(value_forms)
{
	char *a[] = { "-o", "x.db", "--parallelism=3", "-if-db-not-exists",
		"db" };
	ASSERT_INT_EQ(parse(5, a), 4);
	ASSERT_STR_EQ(opt_o, "x.db");
	ASSERT_INT_EQ(opt_n, 3);
	ASSERT(opt_v);
}

TEST(stops_at_first_positional)
{
	char *a[] = { "db", "-o", "x" };
	ASSERT_INT_EQ(parse(3, a), 0);
	ASSERT(opt_o == NULL);
}

TEST(double_dash_ends_flags)
{
	char *a[] = { "-o=y", "--", "-db" };
	ASSERT_INT_EQ(parse(3, a), 2);
	ASSERT_STR_EQ(opt_o, "y");
}

TEST(bool_explicit_false)
{
	char *a[] = { "-if-db-not-exists=false" };
	ASSERT_INT_EQ(parse(1, a), 1);
	ASSERT(!opt_v);
	char *b[] = { "-if-db-not-exists=maybe" };
	ASSERT_INT_EQ(parse(1, b), FLAGS_ERROR);
	ASSERT_STR_EQ(errs,
	    "invalid value \"maybe\" for flag -if-db-not-exists: parse error\n");
}

TEST(unknown_flag)
{
	char *a[] = { "-v", "db" };
	ASSERT_INT_EQ(parse(2, a), FLAGS_ERROR);
	ASSERT_STR_EQ(errs, "flag provided but not defined: -v\n");
}

TEST(missing_argument)
{
	char *a[] = { "-o" };
	ASSERT_INT_EQ(parse(1, a), FLAGS_ERROR);
	ASSERT_STR_EQ(errs, "flag needs an argument: -o\n");
}

TEST(bad_int)
{
	char *a[] = { "-parallelism", "eight" };
	ASSERT_INT_EQ(parse(2, a), FLAGS_ERROR);
	ASSERT_STR_EQ(errs,
	    "invalid value \"eight\" for flag -parallelism: parse error\n");
}

TEST(help)
{
	char *a[] = { "-h" };
	ASSERT_INT_EQ(parse(1, a), FLAGS_HELP);
	char *b[] = { "--help" };
	ASSERT_INT_EQ(parse(1, b), FLAGS_HELP);
}

TEST(lone_dash_is_positional)
{
	char *a[] = { "-", "x" };
	ASSERT_INT_EQ(parse(2, a), 0);
}

int
main(void)
{
	RUN(value_forms);
	RUN(stops_at_first_positional);
	RUN(double_dash_ends_flags);
	RUN(bool_explicit_false);
	RUN(unknown_flag);
	RUN(missing_argument);
	RUN(bad_int);
	RUN(help);
	RUN(lone_dash_is_positional);
	return TEST_DONE();
}
