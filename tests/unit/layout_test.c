/* Replica object names, paths and prefixes of replica/layout.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "test.h"

static char buf[256];

TEST(names)
{
	ASSERT_INT_EQ(layout_snapshot_name(buf, sizeof(buf), 0), 0);
	ASSERT_STR_EQ(buf, "00000000.snapshot.lz4");
	ASSERT_INT_EQ(layout_snapshot_name(buf, sizeof(buf), 0x7fffffff), 0);
	ASSERT_STR_EQ(buf, "7fffffff.snapshot.lz4");
	ASSERT_INT_EQ(layout_wal_name(buf, sizeof(buf), 1, 0x4080), 0);
	ASSERT_STR_EQ(buf, "00000001_00004080.wal.lz4");
	ASSERT_INT_EQ(layout_wal_name(buf, sizeof(buf), 0xabcdef01,
	    0xffffffff), 0);
	ASSERT_STR_EQ(buf, "abcdef01_ffffffff.wal.lz4");
	ASSERT_INT_EQ(strlen(buf), LAYOUT_WAL_NAME_LEN);
	ASSERT_INT_EQ(layout_wal_name(buf, LAYOUT_WAL_NAME_LEN, 1, 2), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	ASSERT_STR_EQ(buf, "");
}

TEST(paths)
{
	const char *g = "97b94e8e9eda898b";

	ASSERT_INT_EQ(layout_generations_dir(buf, sizeof(buf), "/r"), 0);
	ASSERT_STR_EQ(buf, "/r/generations");
	ASSERT_INT_EQ(layout_generations_dir(buf, sizeof(buf), ""), 0);
	ASSERT_STR_EQ(buf, "generations");
	ASSERT_INT_EQ(layout_generation_dir(buf, sizeof(buf), "a/b", g), 0);
	ASSERT_STR_EQ(buf, "a/b/generations/97b94e8e9eda898b");
	ASSERT_INT_EQ(layout_snapshots_dir(buf, sizeof(buf), "/r/", g), 0);
	ASSERT_STR_EQ(buf, "/r/generations/97b94e8e9eda898b/snapshots");
	ASSERT_INT_EQ(layout_wal_dir(buf, sizeof(buf), "", g), 0);
	ASSERT_STR_EQ(buf, "generations/97b94e8e9eda898b/wal");
	ASSERT_INT_EQ(layout_snapshot_path(buf, sizeof(buf), "mydb", g, 1), 0);
	ASSERT_STR_EQ(buf, "mydb/generations/97b94e8e9eda898b/snapshots/"
	    "00000001.snapshot.lz4");
	ASSERT_INT_EQ(layout_wal_path(buf, sizeof(buf), "/d/replica", g, 0,
	    0x70c8), 0);
	ASSERT_STR_EQ(buf, "/d/replica/generations/97b94e8e9eda898b/wal/"
	    "00000000_000070c8.wal.lz4");

	/* A bad generation name never reaches a path. */
	ASSERT_INT_EQ(layout_wal_path(buf, sizeof(buf), "/r", "../../etc/x",
	    0, 0), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT_INT_EQ(layout_generation_dir(buf, sizeof(buf), "/r",
	    "97B94E8E9EDA898B"), -1);
	ASSERT_INT_EQ(layout_snapshot_path(buf, 20, "/r", g, 0), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
}

TEST(generation_names)
{
	ASSERT(layout_is_generation("97b94e8e9eda898b"));
	ASSERT(layout_is_generation("0000000000000000"));
	ASSERT(!layout_is_generation("97b94e8e9eda898"));
	ASSERT(!layout_is_generation("97b94e8e9eda898bb"));
	ASSERT(!layout_is_generation("97B94E8E9EDA898B"));
	ASSERT(!layout_is_generation("97b94e8e9eda898g"));
	ASSERT(!layout_is_generation("97b94e8e9eda898b.tmp"));
	ASSERT(!layout_is_generation(""));
	ASSERT(!layout_is_generation(NULL));
}

TEST(parse_snapshot)
{
	uint32_t i = 123;

	ASSERT_INT_EQ(layout_parse_snapshot("00000000.snapshot.lz4", &i), 0);
	ASSERT_INT_EQ(i, 0);
	ASSERT_INT_EQ(layout_parse_snapshot("ffffffff.snapshot.lz4", &i), 0);
	ASSERT_INT_EQ(i, 0xffffffff);
	ASSERT_INT_EQ(layout_parse_snapshot("0000001a.snapshot.lz4", &i), 0);
	ASSERT_INT_EQ(i, 26);
	static const char *bad[] = {
		"0000001A.snapshot.lz4", "0000001.snapshot.lz4",
		"000000001.snapshot.lz4", "00000001.snapshot.lz4.tmp",
		"00000001.snapshot", "00000001.snapshot.lz4 ",
		" 0000001.snapshot.lz4", "+0000001.snapshot.lz4",
		"0x000001.snapshot.lz4", "00000001_00000000.wal.lz4",
		"00000001.SNAPSHOT.lz4", "", "00000001xsnapshot.lz4",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (layout_parse_snapshot(bad[k], &i) != -1)
			TEST_FAIL_("accepted \"%s\"", bad[k]);
	}
	ASSERT_INT_EQ(layout_parse_snapshot(NULL, &i), -1);
}

TEST(parse_wal)
{
	uint32_t i = 0, o = 0;

	ASSERT_INT_EQ(layout_parse_wal("00000000_00004080.wal.lz4", &i, &o),
	    0);
	ASSERT_INT_EQ(i, 0);
	ASSERT_INT_EQ(o, 0x4080);
	ASSERT_INT_EQ(layout_parse_wal("7fffffff_ffffffff.wal.lz4", &i, &o),
	    0);
	ASSERT_INT_EQ(i, 0x7fffffff);
	ASSERT_INT_EQ(o, 0xffffffff);
	static const char *bad[] = {
		"00000000_00004080.wal.lz4.tmp", "00000000-00004080.wal.lz4",
		"00000000_0004080.wal.lz4", "00000000_000004080.wal.lz4",
		"0000000_000004080.wal.lz4", "00000000_0000408G.wal.lz4",
		"00000000_0000408A.wal.lz4", "00000000_00004080.wal",
		"00000000_00004080.WAL.lz4", "00000000.snapshot.lz4",
		"00000000_00004080.wal.lz4x", "", "_________________.wal.lz4",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (layout_parse_wal(bad[k], &i, &o) != -1)
			TEST_FAIL_("accepted \"%s\"", bad[k]);
	}
}

TEST(round_trip)
{
	static const uint32_t v[] = { 0, 1, 0x1038, 0x7fffffff, 0xffffffff };
	uint32_t i, o;

	for (size_t a = 0; a < 5; a++) {
		for (size_t b = 0; b < 5; b++) {
			ASSERT_INT_EQ(layout_wal_name(buf, sizeof(buf), v[a],
			    v[b]), 0);
			ASSERT_INT_EQ(layout_parse_wal(buf, &i, &o), 0);
			ASSERT_INT_EQ(i, v[a]);
			ASSERT_INT_EQ(o, v[b]);
		}
		ASSERT_INT_EQ(layout_snapshot_name(buf, sizeof(buf), v[a]), 0);
		ASSERT_INT_EQ(layout_parse_snapshot(buf, &i), 0);
		ASSERT_INT_EQ(i, v[a]);
	}
}

TEST(new_generation)
{
	char a[LAYOUT_GEN_LEN + 1], b[LAYOUT_GEN_LEN + 1];

	ASSERT_INT_EQ(layout_new_generation(a), 0);
	ASSERT_INT_EQ(layout_new_generation(b), 0);
	ASSERT(layout_is_generation(a));
	ASSERT(layout_is_generation(b));
	ASSERT(strcmp(a, b) != 0);
}

TEST(clean_prefix)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "" }, { "/", "" }, { "//", "" }, { ".", "" },
		{ "mydb", "mydb" }, { "/mydb", "mydb" }, { "mydb/", "mydb" },
		{ "/lead/db", "lead/db" }, { "a//b", "a/b" },
		{ "//a///b//", "a/b" }, { "a/./b", "a/b" }, { "a/b/..", "a" },
		{ "a/../b", "b" }, { "../a", "a" }, { "/../../a/b/../c", "a/c" },
		{ "a/..", "" }, { "./", "" }, { "a/.b/..c", "a/.b/..c" },
		{ "a/b c/d", "a/b c/d" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ASSERT_INT_EQ(layout_clean_prefix(cases[k].in, buf,
		    sizeof(buf)), 0);
		if (strcmp(buf, cases[k].want) != 0)
			TEST_FAIL_("clean(\"%s\") = \"%s\", want \"%s\"",
			    cases[k].in, buf, cases[k].want);
	}
	/* In place, and a buffer that is too small. */
	char s[16] = "//x//y/";
	ASSERT_INT_EQ(layout_clean_prefix(s, s, sizeof(s)), 0);
	ASSERT_STR_EQ(s, "x/y");
	ASSERT_INT_EQ(layout_clean_prefix("abcdef", buf, 6), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	ASSERT_INT_EQ(layout_clean_prefix("abcdef", buf, 7), 0);
}

int
main(void)
{
	RUN(names);
	RUN(paths);
	RUN(generation_names);
	RUN(parse_snapshot);
	RUN(parse_wal);
	RUN(round_trip);
	RUN(new_generation);
	RUN(clean_prefix);
	return TEST_DONE();
}
