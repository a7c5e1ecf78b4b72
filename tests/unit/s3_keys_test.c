/* The S3 replica client's keys and listing conversion (replica/s3_keys.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "s3_replica.h"
#include "test.h"

#define G "97b94e8e9eda898b"

static char buf[S3R_KEY_MAX];

static struct s3_list_entry
obj(const char *key, int64_t size, int64_t mtime)
{
	return (struct s3_list_entry){ key, size, mtime, false };
}

static struct s3_list_entry
pre(const char *key)
{
	return (struct s3_list_entry){ key, -1, 0, true };
}

TEST(object_keys)
{
	struct replica_obj s = replica_snapshot_obj(G, 0x1a);
	struct replica_obj w = replica_wal_obj(G, 2, 0x4080);
	struct replica_obj bad = replica_wal_obj("../../etc", 0, 0);

	ASSERT_INT_EQ(s3r_object_key(&s, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/" G "/snapshots/0000001a.snapshot.lz4");
	ASSERT_INT_EQ(s3r_object_key(&w, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/" G "/wal/00000002_00004080.wal.lz4");
	ASSERT_INT_EQ(s3r_object_key(&bad, buf, sizeof(buf)), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT_INT_EQ(s3r_object_key(&w, buf, 20), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
}

TEST(prefixes)
{
	ASSERT_INT_EQ(s3r_generations_prefix(buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/");
	ASSERT_INT_EQ(s3r_generation_prefix(G, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/" G "/");
	ASSERT_INT_EQ(s3r_snapshots_prefix(G, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/" G "/snapshots/");
	ASSERT_INT_EQ(s3r_wal_prefix(G, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "generations/" G "/wal/");
	ASSERT_INT_EQ(s3r_wal_prefix("97B94E8E9EDA898B", buf, sizeof(buf)),
	    -1);
	ASSERT_INT_EQ(errno, EINVAL);
	/* One byte short of the trailing '/'. */
	ASSERT_INT_EQ(s3r_wal_prefix(G, buf, strlen("generations/" G "/wal/")),
	    -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	ASSERT_STR_EQ(buf, "");
	ASSERT_INT_EQ(s3r_generations_prefix(buf, 5), -1);
	ASSERT_INT_EQ(s3r_generation_prefix(G, buf, 1), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
}

/* Display keys: the prefix cleaned as the S3 client cleans it. */
TEST(display_keys)
{
	const char *rel = "generations/" G "/wal/00000000_00000000.wal.lz4";

	ASSERT_INT_EQ(s3r_display_key("bkt", "", rel, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "s3://bkt/generations/" G
	    "/wal/00000000_00000000.wal.lz4");
	ASSERT_INT_EQ(s3r_display_key("bkt", "/lead//db/", rel, buf,
	    sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "s3://bkt/lead/db/generations/" G
	    "/wal/00000000_00000000.wal.lz4");
	ASSERT_INT_EQ(s3r_display_key("bkt", "a/./b/../c", "generations/",
	    buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "s3://bkt/a/c/generations/");
	ASSERT_INT_EQ(s3r_display_key("bkt", NULL, "/x", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "s3://bkt/x");
	ASSERT_INT_EQ(s3r_display_key("bkt", "p", "", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "s3://bkt/p");
	ASSERT_INT_EQ(s3r_display_key("bkt", "db", rel, buf, 16), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	ASSERT_STR_EQ(buf, "");
}

TEST(generations)
{
	struct replica_generation g;
	const char *lp = "generations/";
	struct s3_list_entry e;

	e = pre("generations/" G "/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 1);
	ASSERT_STR_EQ(g.name, G);
	/* Objects, other prefixes and bad names are not generations. */
	e = obj("generations/" G "/", 0, 0);
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("generations/" G);
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("generations/" G "0/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("generations/97B94E8E9EDA898B/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("generations/../../etc/pa/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("other/" G "/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre("generations/");
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
	e = pre(NULL);
	ASSERT_INT_EQ(s3r_entry_generation(lp, &e, &g), 0);
}

TEST(snapshots)
{
	const char *lp = "generations/" G "/snapshots/";
	struct replica_snapshot s;
	struct s3_list_entry e;

	e = obj("generations/" G "/snapshots/0000000a.snapshot.lz4", 4096,
	    1700000000123000000LL);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 1);
	ASSERT_INT_EQ(s.index, 10);
	ASSERT_INT_EQ(s.size, 4096);
	ASSERT_INT_EQ(s.created, 1700000000123000000LL);
	e = obj("generations/" G "/snapshots/0000000a.snapshot.lz4.tmp", 1, 1);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
	e = obj("generations/" G "/snapshots/0000000A.snapshot.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
	e = obj("generations/" G "/snapshots/0000000a.snapshot.lz4", -1, 1);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
	e = pre("generations/" G "/snapshots/0000000a.snapshot.lz4");
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
	e = obj("generations/" G "/wal/00000000_00000000.wal.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
	e = obj("generations/" G "/snapshots/sub/00000000.snapshot.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_snapshot(lp, &e, &s), 0);
}

TEST(wal_segments)
{
	const char *lp = "generations/" G "/wal/";
	struct replica_wal_segment w;
	struct s3_list_entry e;

	e = obj("generations/" G "/wal/00000003_00004080.wal.lz4", 123, 7);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 1);
	ASSERT_INT_EQ(w.index, 3);
	ASSERT_INT_EQ(w.offset, 0x4080);
	ASSERT_INT_EQ(w.size, 123);
	ASSERT_INT_EQ(w.created, 7);
	e = obj("generations/" G "/wal/00000003_00004080.wal.lz4", 0, 7);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 1);
	ASSERT_INT_EQ(w.size, 0);
	e = obj("generations/" G "/wal/00000003_4080.wal.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 0);
	e = obj("generations/" G "/wal/00000003_00004080.wal", 1, 1);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 0);
	e = obj("generations/" G "/wal//00000003_00004080.wal.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 0);
	e = obj("generations/" G "/snapshots/00000003.snapshot.lz4", 1, 1);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 0);
	e = obj("generations/" G "/wal/", 0, 1);
	ASSERT_INT_EQ(s3r_entry_wal(lp, &e, &w), 0);
}

int
main(void)
{
	RUN(object_keys);
	RUN(prefixes);
	RUN(display_keys);
	RUN(generations);
	RUN(snapshots);
	RUN(wal_segments);
	return TEST_DONE();
}
