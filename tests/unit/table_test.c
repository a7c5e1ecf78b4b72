/* Go tabwriter-compatible columns of common/table.c. */
#include <stdio.h>
#include <stdlib.h>

#include "table.h"
#include "test.h"

static char out[1024];

static void
render(struct table *t)
{
	FILE *f = fmemopen(out, sizeof(out), "w");
	table_print(t, f);
	fclose(f);
}

TEST(litestream_databases_layout)
{
	struct table *t = table_new(2);
	table_addv(t, "path", "replicas");
	table_addv(t, "/tmp/exp1/app.db", "file");
	render(t);
	table_free(t);
	ASSERT_STR_EQ(out, "path              replicas\n"
			   "/tmp/exp1/app.db  file\n");
}

TEST(last_column_not_padded)
{
	struct table *t = table_new(3);
	table_addv(t, "name", "generation", "lag");
	table_addv(t, "file", "97b94e8e9eda898b", "");
	table_addv(t, "s3", "x", "9.6s");
	render(t);
	table_free(t);
	ASSERT_STR_EQ(out, "name  generation        lag\n"
			   "file  97b94e8e9eda898b  \n"
			   "s3    x                 9.6s\n");
}

TEST(utf8_counts_characters)
{
	struct table *t = table_new(2);
	table_addv(t, "\xc3\xa9t\xc3\xa9", "x");
	table_addv(t, "abcd", "y");
	render(t);
	table_free(t);
	ASSERT_STR_EQ(out, "\xc3\xa9t\xc3\xa9   x\nabcd  y\n");
}

TEST(header_only)
{
	struct table *t = table_new(2);
	table_addv(t, "path", "replicas");
	render(t);
	table_free(t);
	ASSERT_STR_EQ(out, "path  replicas\n");
}

int
main(void)
{
	RUN(litestream_databases_layout);
	RUN(last_column_not_padded);
	RUN(utf8_counts_characters);
	RUN(header_only);
	return TEST_DONE();
}
